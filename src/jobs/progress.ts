/** One progress report: percent 0–100, an optional message and optional structured data. */
export interface ProgressReport {
  percent: number;
  message: string | null;
  data: unknown;
}

/**
 * Rate-limits progress on its way to the database and the bus: at most one write per `intervalMs` per job,
 * the latest report wins, and the last one is never dropped (a trailing write, or `close({ flush: true })`).
 * Percent is clamped to 0–100, rounded to one decimal (a share of a share, such as DuckDB's estimate mapped into
 * a phase, has a dozen meaningless digits), and never goes backwards within an attempt.
 */
export class ProgressThrottle {
  private latest: ProgressReport | null = null;
  private percent = 0;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly write: (report: ProgressReport) => Promise<void>,
  ) {}

  report(percent: number, message?: string, data?: unknown): void {
    if (this.closed) return;
    const clamped = Number.isFinite(percent) ? Math.min(100, Math.max(0, Math.round(percent * 10) / 10)) : this.percent;
    this.percent = Math.max(this.percent, clamped);
    this.latest = { percent: this.percent, message: message ?? null, data: data ?? null };
    if (this.timer) return;
    const wait = this.lastWriteAt + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else {
      this.timer = setTimeout(() => this.flush(), wait);
      this.timer.unref();
    }
  }

  private flush(): void {
    this.timer = null;
    const report = this.latest;
    if (!report) return;
    this.latest = null;
    this.lastWriteAt = Date.now();
    // Writes are chained: a slow write is never overtaken by a later report.
    this.writing = this.writing.then(() => this.write(report)).catch(() => {});
  }

  /** Stops reporting; with `flush`, a pending report is written first. Resolves when no write is in flight. */
  async close(opts: { flush: boolean }): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (opts.flush && this.latest) this.flush();
    this.timer = null;
    await this.writing;
  }
}
