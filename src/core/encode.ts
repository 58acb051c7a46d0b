/**
 * The versioned JSON form of an event (schema/events/*.schema.json):
 * snake_case keys, `type` first, `schema_version`, RFC 3339 time with
 * nanoseconds, and `time_unix_nano` as a decimal string (it does not fit a
 * JSON number exactly).
 */
import { SCHEMA_VERSION, type NetEvent } from './event.js';
import { JsonWriter, rfc3339NanoSlow } from './json-writer.js';

const SNAKE = new Map<string, string>();
function snake(key: string): string {
  let s = SNAKE.get(key);
  if (s === undefined) {
    s = key.replace(/[A-Z]/g, (m) => '_' + m.toLowerCase());
    if (SNAKE.size < 256) SNAKE.set(key, s);
  }
  return s;
}

// Events come in time order, many per second: the "YYYY-MM-DDTHH:MM:SS." part
// of the last second is kept, so most calls are a bigint compare and a subtraction.
let secStart = -1n;
let secEnd = -1n;
let secPrefix = '';

/** RFC 3339 with nanosecond precision, UTC. */
export function rfc3339Nano(unixNano: bigint): string {
  if (unixNano < secStart || unixNano >= secEnd) {
    if (unixNano < 0n) return rfc3339NanoSlow(unixNano);
    secStart = unixNano - (unixNano % 1_000_000_000n);
    secEnd = secStart + 1_000_000_000n;
    secPrefix = new Date(Number(secStart / 1_000_000n)).toISOString().slice(0, 20);
  }
  // 1e9 + ns (< 2^31) printed and its leading "1" dropped: nine digits, zero-padded.
  return `${secPrefix}${String(Number(unixNano - secStart) + 1_000_000_000).slice(1)}Z`;
}

export type JsonEvent = Record<string, unknown>;

export function toJsonObject(event: NetEvent): JsonEvent {
  const out: JsonEvent = { type: event.type, schema_version: SCHEMA_VERSION, time: rfc3339Nano(event.timeUnixNano) };
  for (const key in event) {
    if (key === 'type') continue;
    const value = (event as unknown as Record<string, unknown>)[key];
    if (value === undefined) continue;
    out[snake(key)] = typeof value === 'bigint' ? value.toString() : value;
  }
  return out;
}

const scratch = new JsonWriter(16 * 1024);

/**
 * The event's JSON form as one line without a newline (json-writer.ts writes
 * it; exporters that send bytes use a JsonWriter directly). Keys in schema
 * order; for events built in that order (every parser builds them so) this is
 * JSON.stringify(toJsonObject(event)), byte for byte.
 */
export function toJsonLine(e: NetEvent): string {
  scratch.pos = 0;
  scratch.event(e);
  const line = scratch.buf.toString('utf8', 0, scratch.pos);
  // do not keep a buffer grown by one huge event
  if (scratch.buf.length > 1024 * 1024) scratch.buf = Buffer.allocUnsafe(16 * 1024);
  return line;
}
