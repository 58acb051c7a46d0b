/** Trace/span ids and exact kernel-time conversions for OTLP records. */
import { randomFillSync } from 'node:crypto';
import type { HrTime } from '@opentelemetry/api';

/*
 * Ids are kept as 32-bit words, not hex strings: a span costs one small
 * object (six small integers) instead of two strings made from random bytes
 * and parsed back into bytes when the span is written.
 */
const POOL_WORDS = 1024;
const pool = new Int32Array(POOL_WORDS);
let next = POOL_WORDS;

function word(): number {
  if (next === POOL_WORDS) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]!;
}

/**
 * A span's identity: the 16-byte trace id (t0..t3) and the 8-byte span id
 * (s0, s1) as big-endian signed 32-bit words. Never all zero (invalid ids).
 */
export class SpanRef {
  constructor(
    readonly t0: number,
    readonly t1: number,
    readonly t2: number,
    readonly t3: number,
    readonly s0: number,
    readonly s1: number,
  ) {}

  /** A new span in a new trace. */
  static root(): SpanRef {
    let t0 = word();
    const t1 = word();
    const t2 = word();
    const t3 = word();
    if ((t0 | t1 | t2 | t3) === 0) t0 = 1;
    return SpanRef.child(t0, t1, t2, t3);
  }

  /** A new span in `trace`'s trace. */
  static inTrace(trace: SpanRef): SpanRef {
    return SpanRef.child(trace.t0, trace.t1, trace.t2, trace.t3);
  }

  private static child(t0: number, t1: number, t2: number, t3: number): SpanRef {
    const s0 = word();
    let s1 = word();
    if ((s0 | s1) === 0) s1 = 1;
    return new SpanRef(t0, t1, t2, t3, s0, s1);
  }

  /** From the lowercase hex form (32 and 16 digits). */
  static fromHex(traceId: string, spanId: string): SpanRef {
    if (!/^[0-9a-f]{32}$/.test(traceId) || !/^[0-9a-f]{16}$/.test(spanId))
      throw new Error(`not a trace id and span id in hex: ${traceId} ${spanId}`);
    const w = (hex: string, i: number): number => parseInt(hex.slice(i * 8, i * 8 + 8), 16) | 0;
    return new SpanRef(w(traceId, 0), w(traceId, 1), w(traceId, 2), w(traceId, 3), w(spanId, 0), w(spanId, 1));
  }

  /** Hex form of the trace id (tests, logs; not used on the export path). */
  get traceId(): string {
    return hex8(this.t0) + hex8(this.t1) + hex8(this.t2) + hex8(this.t3);
  }

  /** Hex form of the span id (tests, logs; not used on the export path). */
  get spanId(): string {
    return hex8(this.s0) + hex8(this.s1);
  }
}

function hex8(w: number): string {
  return (w >>> 0).toString(16).padStart(8, '0');
}

const NS = 1_000_000_000n;

/** Exact [seconds, nanos] of a wall-clock nanosecond timestamp (no float rounding). */
export function hrTime(unixNano: bigint): HrTime {
  return [Number(unixNano / NS), Number(unixNano % NS)];
}

/** End of an event with a duration, in ns since the epoch. */
export function endNano(startUnixNano: bigint, latencyNs: number): bigint {
  const d = Number.isFinite(latencyNs) && latencyNs > 0 ? BigInt(Math.round(latencyNs)) : 0n;
  return startUnixNano + d;
}
