/**
 * FNV-1a (32-bit) fed directly from strings and numbers, so a key never has
 * to be built as a string, finished with the murmur3 fmix32 avalanche step
 * (plain FNV-1a barely moves the high bits for keys that differ in their
 * last character, e.g. 10.0.0.1 vs 10.0.0.2, and the decision uses the high
 * bits). Not cryptographic; it only needs to spread keys evenly.
 */
export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Mixes the UTF-16 code units of s[start..] into h. */
export function fnvString(h: number, s: string, start = 0): number {
  for (let i = start; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** Mixes the low 32 bits of n into h, byte by byte. */
export function fnvUint32(h: number, n: number): number {
  h ^= n & 0xff;
  h = Math.imul(h, FNV_PRIME);
  h ^= (n >>> 8) & 0xff;
  h = Math.imul(h, FNV_PRIME);
  h ^= (n >>> 16) & 0xff;
  h = Math.imul(h, FNV_PRIME);
  h ^= n >>> 24;
  return Math.imul(h, FNV_PRIME);
}

/** murmur3 finaliser; returns an unsigned 32-bit value. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
