/** Trace/span ids and exact kernel-time conversions for OTLP records. */
import { randomFillSync } from 'node:crypto';
import type { HrTime } from '@opentelemetry/api';

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

function randomHex(bytes: number): string {
  for (let attempt = 0; attempt < 4; attempt++) {
    if (offset + bytes > POOL_SIZE) {
      randomFillSync(pool);
      offset = 0;
    }
    const hex = pool.toString('hex', offset, offset + bytes);
    offset += bytes;
    if (!/^0+$/.test(hex)) return hex; // all-zero ids are invalid
  }
  return '0'.repeat(bytes * 2 - 1) + '1';
}

export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);

export interface SpanRef {
  traceId: string;
  spanId: string;
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
