import type { Config } from '../config.js';
import type { Log } from '../logger.js';
import { LocalEventBus } from './local.js';
import { RedisEventBus } from './redis.js';
import type { EventBus } from './types.js';

/** The event bus driver of this process: Redis pub/sub when WEIR_REDIS_URL is set (cluster mode), else in-process. */
export function createEventBus(config: Config, log: Log): EventBus {
  if (config.redisUrl)
    return new RedisEventBus(config.redisUrl, log, { channelPrefix: config.realtime.busChannelPrefix });
  return new LocalEventBus(log);
}
