import cliProgress from 'cli-progress';
import { formatBytes } from './format.js';

/** Byte progress of one transfer: `update` with the bytes done so far, `stop` once, whatever the outcome. */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

const silent: Progress = { update: () => {}, stop: () => {} };

/**
 * A bar on stderr with bytes done/total, average rate and ETA. Only on a terminal: piped or logged stderr gets
 * no bar (carriage-return redraws are noise in a file), and neither does --json. `from`: bytes already done before
 * this run (a resumed upload); the bar starts there and the rate counts only what this run moves.
 */
export function byteProgress(label: string, total: number, enabled: boolean, from = 0): Progress {
  if (!enabled || !process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {bar} {percentage}% | {done}/{size} | {rate} | ETA {eta_formatted}`,
      barsize: 30,
      etaBuffer: 50,
      // A hidden cursor would stay hidden if Ctrl-C kills the process mid-upload.
      hideCursor: false,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  const size = formatBytes(total);
  bar.start(Math.max(total, 1), from, { done: formatBytes(from), size, rate: '–' });
  let stopped = false;
  return {
    update(done) {
      const seconds = (Date.now() - started) / 1000;
      const moved = Math.max(0, done - from);
      bar.update(done, {
        done: formatBytes(done),
        size,
        rate: seconds > 0 ? `${formatBytes(moved / seconds)}/s` : '–',
      });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
