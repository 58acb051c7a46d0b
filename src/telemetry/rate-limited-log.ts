import type { Logger } from './log.js';

/**
 * Logs a message the first time its key is seen, then at most once per
 * interval, saying how many were suppressed in between (like Vector's
 * internal log rate limiting). Keys must come from bounded sets.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.log('warn', key, fields, msg);
  }

  error(key: string, fields: Record<string, unknown>, msg: string): void {
    this.log('error', key, fields, msg);
  }

  private log(level: 'warn' | 'error', key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const w = this.windows.get(key);
    if (w && t < w.until) {
      w.suppressed++;
      return;
    }
    const suppressed = w?.suppressed ?? 0;
    if (this.windows.size > 10_000) this.windows.clear(); // bounded, keys are bounded anyway
    this.windows.set(key, { until: t + this.intervalMs, suppressed: 0 });
    this.logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, msg);
  }
}
