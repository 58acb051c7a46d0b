/**
 * ASCII strings copied into byte buffers by a loop (for short strings a
 * native copy costs more to call than the loop): the Kafka record keys and
 * the OTLP protobuf writer's strings.
 */

/**
 * The bytes of `s` at `at` (the caller made room for s.length bytes);
 * returns the position after them, or -1 at the first unit that is not
 * ASCII (the bytes before it are written).
 *
 * Event strings come in several representations (sliced from a line, cons,
 * internalized, sequential), each with its own map, so a property load on
 * them at a site that sees them all is megamorphic: a stub-cache lookup
 * each time. Hence `len` (s.length, read once; callers that already read it
 * pass it) and String.prototype.charCodeAt.call(s, i), which V8 reduces to
 * the character load with no lookup (spelled out in full: through a module
 * constant it stayed a generic call per character). OTLP log encoder, both
 * builds loaded side by side: 18-21% less CPU than s.charCodeAt(i).
 */
export function asciiAt(buf: Uint8Array, at: number, s: string, len: number = s.length): number {
  let p = at;
  for (let i = 0; i < len; i++) {
    const c = String.prototype.charCodeAt.call(s, i);
    if (c >= 0x80) return -1;
    buf[p++] = c;
  }
  return p;
}
