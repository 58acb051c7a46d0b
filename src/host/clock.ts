import type { Clock } from '../core/parser.js';

/**
 * bpftrace's `nsecs` is CLOCK_MONOTONIC, the same clock as process.hrtime.
 * The offset to wall-clock time is sampled once; `offsetNs` lets a replay use
 * the offset recorded with the capture instead.
 */
export class MonotonicClock implements Clock {
  readonly offsetNs: bigint;

  constructor(offsetNs?: bigint) {
    this.offsetNs = offsetNs ?? MonotonicClock.sampleOffset();
  }

  static sampleOffset(): bigint {
    // Bracket Date.now() between two monotonic reads and take the midpoint.
    const a = process.hrtime.bigint();
    const wallMs = Date.now();
    const b = process.hrtime.bigint();
    return BigInt(wallMs) * 1_000_000n - (a + b) / 2n;
  }

  toUnixNano(monotonicNs: bigint): bigint {
    return monotonicNs + this.offsetNs;
  }
}
