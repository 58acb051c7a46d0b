import type { Logger } from './log.js';

type Level = 'warn' | 'error';

interface Window {
  until: number;
  /** Calls folded into the next line since the last one. */
  suppressed: number;
  /** Sum of their numeric `count` fields (events, not calls). */
  count: number;
  /** The latest suppressed call, for the summary line. */
  level: Level;
  fields: Record<string, unknown>;
  msg: string;
}

/**
 * Logs a message the first time its key is seen, then at most once per
 * interval (like Vector's internal log rate limiting). What was held back is
 * not lost: once the interval is over, one line says how many calls were
 * suppressed (`suppressed`) and, for calls that carry a numeric `count`
 * (events dropped, lost, ...), the total of those counts (`count`), either
 * with the next call or, if none comes, from a timer that runs only while
 * something is held back. `flush()` writes everything held back now
 * (shutdown). Keys must come from bounded sets.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();
  private timer: NodeJS.Timeout | undefined;

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

  /**
   * The hot path of a call that is usually held back (one per dropped event
   * under overload): when `key` is inside its interval, fold a call counting
   * `count` into the next line, as warn()/error() would, without building its
   * fields, and return true; otherwise return false (the caller logs it).
   */
  suppress(key: string, count: number): boolean {
    const w = this.windows.get(key);
    if (w === undefined || this.now() >= w.until) return false;
    w.suppressed++;
    w.count += count;
    this.startTimer();
    return true;
  }

  /** Write the summary line of every key with something held back, now. */
  flush(): void {
    for (const w of this.windows.values()) if (w.suppressed > 0) this.emitHeld(w, this.now());
    this.stopTimer();
  }

  private log(level: Level, key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const w = this.windows.get(key);
    if (w && t < w.until) {
      w.suppressed++;
      if (typeof fields.count === 'number') w.count += fields.count;
      w.level = level;
      w.fields = fields;
      w.msg = msg;
      this.startTimer();
      return;
    }
    if (w && w.suppressed > 0) {
      // this call and what was held back since the last line, in one line
      const own = typeof fields.count === 'number' ? fields.count : 0;
      const out: Record<string, unknown> = { ...fields, suppressed: w.suppressed };
      if (typeof fields.count === 'number' || w.count > 0) out.count = own + w.count;
      this.logger[level](out, msg);
      this.reset(w, t);
      return;
    }
    if (!w && this.windows.size >= 10_000) this.windows.clear(); // bounded; keys are bounded anyway
    this.logger[level](fields, msg);
    if (w) this.reset(w, t);
    else this.windows.set(key, { until: t + this.intervalMs, suppressed: 0, count: 0, level, fields, msg });
  }

  private reset(w: Window, t: number): void {
    w.until = t + this.intervalMs;
    w.suppressed = 0;
    w.count = 0;
  }

  private emitHeld(w: Window, t: number): void {
    const out: Record<string, unknown> = { ...w.fields, suppressed: w.suppressed };
    if (typeof w.fields.count === 'number' || w.count > 0) out.count = w.count;
    this.logger[w.level](out, w.msg);
    this.reset(w, t);
  }

  /** Timer tick: summary lines for keys whose interval is over; forget quiet keys. */
  private tick(): void {
    const t = this.now();
    let pending = false;
    for (const [key, w] of this.windows) {
      if (t < w.until) {
        if (w.suppressed > 0) pending = true;
        continue;
      }
      if (w.suppressed > 0) {
        this.emitHeld(w, t);
      } else this.windows.delete(key);
    }
    if (!pending) this.stopTimer();
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), Math.max(10, Math.floor(this.intervalMs / 2)));
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
