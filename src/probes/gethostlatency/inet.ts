/**
 * Helpers for the raw bytes the gethostlatency and skbdrop probes print:
 * `%r`/`%rx` escaped buffers and addresses as little-endian u32 words.
 * Kept out of core/decode.ts on purpose (probe-private).
 */

/**
 * Where the NUL padding of a `%r` field of a str() buffer begins: the run of
 * `\x00` at its end (str() stops at the first NUL and zero-fills the rest,
 * so a real NUL is only ever followed by more of them). A name that itself
 * ends in the text `\x00` loses that text: at the end the two look alike.
 */
function paddingStart(text: string, start: number, end: number): number {
  while (end - start >= 4 && text.startsWith('\\x00', end - 4)) end -= 4;
  return end;
}

/**
 * Raw bytes of a bpftrace `%r` field of a str() buffer, at most `max` bytes.
 * bpftrace prints printable ASCII (backslash included) as itself and every
 * other byte as `\xHH`. So `\xHH` is a byte only when HH is not printable
 * ASCII; otherwise it is text the name itself contains (a name holding a
 * literal "\x00" or "\x2e" is not cut or rewritten by it), and the NUL
 * padding is the `\x00` run at the end. Returns undefined if `max` is
 * exceeded. `start`/`end`: the field's place in `text` (default: all of it).
 */
export function decodeEscapedBytes(text: string, max: number, start = 0, end = text.length): Uint8Array | undefined {
  end = paddingStart(text, start, end);
  const out = new Uint8Array(Math.min(end - start, max + 1));
  let n = 0;
  for (let i = start; i < end; i++) {
    let b = text.charCodeAt(i);
    if (b === 0x5c && text.charCodeAt(i + 1) === 0x78 && i + 3 < end) {
      const h = hexVal(text.charCodeAt(i + 2));
      const l = hexVal(text.charCodeAt(i + 3));
      const v = (h << 4) | l;
      if (h >= 0 && l >= 0 && (v < 0x20 || v > 0x7e) && v !== 0) {
        b = v;
        i += 3;
      }
    }
    if (n >= max) return undefined;
    out[n++] = b & 0xff;
  }
  return out.subarray(0, n);
}

/**
 * decodeEscapedBytes for the common case of a name in plain ASCII: when the
 * field before its NUL padding holds only printable ASCII and no backslash,
 * those characters are the bytes and the name is returned as that string
 * (no byte array, no UTF-8 decoding). Otherwise the bytes.
 */
export function decodeEscapedName(
  text: string,
  max: number,
  start: number,
  end: number,
): string | Uint8Array | undefined {
  const stop = paddingStart(text, start, end);
  if (stop - start > max) return decodeEscapedBytes(text, max, start, end);
  for (let i = start; i < stop; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x5c) return decodeEscapedBytes(text, max, start, end);
  }
  return text.slice(start, stop);
}

/** Exactly `count` bytes written as `\xHH` each (bpftrace `%rx`); undefined otherwise. */
export function decodeHexEscaped(text: string, count: number): Uint8Array | undefined {
  if (text.length !== count * 4) return undefined;
  const out = new Uint8Array(count);
  for (let i = 0, j = 0; j < count; i += 4, j++) {
    if (text.charCodeAt(i) !== 0x5c || text.charCodeAt(i + 1) !== 0x78) return undefined;
    const h = hexVal(text.charCodeAt(i + 2));
    const l = hexVal(text.charCodeAt(i + 3));
    if (h < 0 || l < 0) return undefined;
    out[j] = (h << 4) | l;
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Dotted quad from 4 bytes at `off`. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** IPv4 address from its 4 network-order bytes loaded as a little-endian u32. */
export function ipv4FromLeU32(x: number): string {
  return `${x & 0xff}.${(x >>> 8) & 0xff}.${(x >>> 16) & 0xff}.${x >>> 24}`;
}

/** RFC 5952 text form of 16 bytes at `off` (lower case, longest zero run as ::, IPv4-mapped as ::ffff:a.b.c.d). */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const g: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = ((b[off + 2 * i] ?? 0) << 8) | (b[off + 2 * i + 1] ?? 0);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(b, off + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** IPv6 address from 4 little-endian u32 words holding its 16 network-order bytes. */
export function ipv6FromLeU32(w0: number, w1: number, w2: number, w3: number): string {
  const b = new Uint8Array(16);
  const words = [w0, w1, w2, w3];
  for (let i = 0; i < 4; i++) {
    const w = words[i]!;
    b[4 * i] = w & 0xff;
    b[4 * i + 1] = (w >>> 8) & 0xff;
    b[4 * i + 2] = (w >>> 16) & 0xff;
    b[4 * i + 3] = w >>> 24;
  }
  return formatIPv6(b);
}
