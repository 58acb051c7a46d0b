/**
 * ASCII strings copied into byte buffers by a loop (for short strings a
 * native copy costs more to call than the loop): the Kafka record keys and
 * the OTLP protobuf writer's strings.
 */

/**
 * The bytes of `s` at `at` (the caller made room for s.length bytes);
 * returns the position after them, or -1 at the first unit that is not
 * ASCII (the bytes before it are written). `len` is s.length, read once:
 * strings come in several representations (sliced, cons, internalized...),
 * so a `length` load site that sees them all is megamorphic, a hash lookup
 * on every load; callers that already read it pass it.
 */
export function asciiAt(buf: Uint8Array, at: number, s: string, len: number = s.length): number {
  let p = at;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    buf[p++] = c;
  }
  return p;
}
