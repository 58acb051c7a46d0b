/**
 * ASCII strings copied into byte buffers by a loop (for short strings a
 * native copy costs more to call than the loop): the Kafka record keys and
 * the OTLP protobuf writer's strings.
 */

/**
 * String.prototype.charCodeAt, for `charCodeAt.call(s, i)` in loops over
 * strings that reach the exporters: event strings come in several
 * representations (sliced from a line, cons, internalized, sequential), each
 * with its own map, so the `s.charCodeAt` property load at a site that sees
 * them all is megamorphic, a stub-cache lookup for every character. Called
 * through the constant, V8 inlines the character load: the OTLP log encoder
 * took 5-10% less CPU (bench/otlp-logs.ts events, both builds loaded side by
 * side, 3 runs). JsonWriter.str() measured ~10% slower with it and keeps
 * s.charCodeAt.
 */
// eslint-disable-next-line @typescript-eslint/unbound-method -- always called as charCodeAt.call(s, i)
export const charCodeAt = String.prototype.charCodeAt;

/**
 * The bytes of `s` at `at` (the caller made room for s.length bytes);
 * returns the position after them, or -1 at the first unit that is not
 * ASCII (the bytes before it are written). `len` is s.length, read once
 * (a megamorphic load too, see charCodeAt); callers that already read it
 * pass it.
 */
export function asciiAt(buf: Uint8Array, at: number, s: string, len: number = s.length): number {
  let p = at;
  for (let i = 0; i < len; i++) {
    const c = charCodeAt.call(s, i);
    if (c >= 0x80) return -1;
    buf[p++] = c;
  }
  return p;
}
