/**
 * Decimal digits written as ASCII bytes, as String() writes a non-negative
 * 32-bit integer: the JSON writer's numbers and the Kafka keys' ports and pids.
 */

/** True when putUint31 can write n. */
export function isUint31(n: number): boolean {
  return n >= 0 && n < 0x80000000 && (n | 0) === n;
}

/** The digits of n (isUint31(n)) at `at` (the caller made room for 10 bytes); returns the position after them. */
export function putUint31(buf: Uint8Array, at: number, n: number): number {
  let len = 1;
  for (let t = n; t >= 10; t = (t / 10) | 0) len++;
  let p = at + len;
  let v = n;
  do {
    const q = (v / 10) | 0;
    buf[--p] = 48 + v - q * 10;
    v = q;
  } while (v > 0);
  return at + len;
}
