/**
 * The versioned JSON form of an event (schema/events/*.schema.json):
 * snake_case keys, `type` first, `schema_version`, RFC 3339 time with
 * nanoseconds, and `time_unix_nano` as a decimal string (it does not fit a
 * JSON number exactly).
 */
import { SCHEMA_VERSION, type NetEvent } from './event.js';

const SNAKE = new Map<string, string>();
function snake(key: string): string {
  let s = SNAKE.get(key);
  if (s === undefined) {
    s = key.replace(/[A-Z]/g, (m) => '_' + m.toLowerCase());
    if (SNAKE.size < 256) SNAKE.set(key, s);
  }
  return s;
}

/** RFC 3339 with nanosecond precision, UTC. */
export function rfc3339Nano(unixNano: bigint): string {
  const ms = unixNano / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // ...T..:..:..SSSZ
  const subMs = Number(unixNano % 1_000_000n);
  return `${iso.slice(0, 23)}${String(subMs).padStart(6, '0')}Z`;
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

export function toJsonLine(event: NetEvent): string {
  return JSON.stringify(toJsonObject(event));
}
