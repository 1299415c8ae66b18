import type { Config } from '../config.js';
import type { Log } from '../logger.js';
import { LocalEventBus } from './local.js';
import type { EventBus } from './types.js';

/**
 * The event bus driver of this process: Redis pub/sub when WEIR_REDIS_URL is set (cluster mode), else in-process.
 * The Redis driver (and ioredis with it) is loaded only then.
 */
export async function createEventBus(config: Config, log: Log): Promise<EventBus> {
  if (config.redisUrl) {
    const { RedisEventBus } = await import('./redis.js');
    return new RedisEventBus(config.redisUrl, log, { channelPrefix: config.realtime.busChannelPrefix });
  }
  return new LocalEventBus(log);
}
