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

function rfc3339NanoSlow(unixNano: bigint): string {
  const ms = unixNano / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // ...T..:..:..SSSZ
  const subMs = Number(unixNano % 1_000_000n);
  return `${iso.slice(0, 23)}${String(subMs).padStart(6, '0')}Z`;
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

/**
 * JSON.stringify(toJsonObject(event)), byte for byte, written directly: no
 * intermediate object, strings escaped by JSON.stringify one value at a time.
 */
export function toJsonLine(event: NetEvent): string {
  let out = `{"type":${JSON.stringify(event.type)},"schema_version":${SCHEMA_VERSION},"time":"${rfc3339Nano(event.timeUnixNano)}"`;
  for (const key in event) {
    if (key === 'type') continue;
    const value = (event as unknown as Record<string, unknown>)[key];
    switch (typeof value) {
      case 'undefined':
      case 'function':
      case 'symbol':
        continue;
      case 'string':
        out += keyPrefix(key) + JSON.stringify(value);
        break;
      case 'bigint':
        out += keyPrefix(key) + '"' + value.toString() + '"';
        break;
      case 'number':
        out += keyPrefix(key) + (Number.isFinite(value) ? String(value) : 'null');
        break;
      case 'boolean':
        out += keyPrefix(key) + (value ? 'true' : 'false');
        break;
      default:
        out += keyPrefix(key) + JSON.stringify(value);
    }
  }
  return out + '}';
}

const KEY_PREFIX = new Map<string, string>();
/** `,"snake_key":` for a camelCase key, escaped for JSON: one lookup per field. */
function keyPrefix(key: string): string {
  let s = KEY_PREFIX.get(key);
  if (s === undefined) {
    s = `,${JSON.stringify(snake(key))}:`;
    if (KEY_PREFIX.size < 256) KEY_PREFIX.set(key, s);
  }
  return s;
}
