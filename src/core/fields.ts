/**
 * Tab-separated fields of one probe line, read in place.
 *
 * `line.split('\t')` makes a string per field and an array per line; most
 * fields are numbers, which only need their digits read. TabFields finds the
 * tab positions once into a reused array and decodes each field straight from
 * the line: strings are sliced only for the fields that are strings in the
 * event (comm, addresses, names). One instance per parser (not shared across
 * parsers: a parser's fields stay valid until its next `split`).
 */
import { decodeBpfBuf, MAX_COMM_TEXT } from './decode.js';

export class TabFields {
  line = '';
  /** Number of fields of the last line (also when more than `capacity`). */
  count = 0;
  /** bounds[2i] = start of field i, bounds[2i+1] = its end (exclusive); for i < capacity. */
  private readonly bounds: Int32Array;

  constructor(readonly capacity: number) {
    this.bounds = new Int32Array(2 * capacity);
  }

  /** Finds the fields of `line`; returns their number. */
  split(line: string): number {
    this.line = line;
    const b = this.bounds;
    const cap = this.capacity;
    let n = 0;
    let start = 0;
    for (;;) {
      const tab = line.indexOf('\t', start);
      const end = tab < 0 ? line.length : tab;
      if (n < cap) {
        b[2 * n] = start;
        b[2 * n + 1] = end;
      }
      n++;
      if (tab < 0) break;
      start = tab + 1;
    }
    this.count = n;
    return n;
  }

  start(i: number): number {
    return this.bounds[2 * i]!;
  }

  end(i: number): number {
    return this.bounds[2 * i + 1]!;
  }

  length(i: number): number {
    return this.bounds[2 * i + 1]! - this.bounds[2 * i]!;
  }

  str(i: number): string {
    return this.line.slice(this.bounds[2 * i], this.bounds[2 * i + 1]);
  }

  /** Field i is exactly `text`. */
  is(i: number, text: string): boolean {
    return this.length(i) === text.length && this.line.startsWith(text, this.bounds[2 * i]);
  }

  /** Strict unsigned decimal (as parseUint): NaN for anything but 1..16 digits. */
  uint(i: number): number {
    return uintRange(this.line, this.bounds[2 * i]!, this.bounds[2 * i + 1]!);
  }

  /** Strict signed decimal (as parseInt32): optional leading '-', then uint. */
  int(i: number): number {
    if (this.length(i) > 1 && this.line.charCodeAt(this.start(i)) === 0x2d) {
      const n = uintRange(this.line, this.start(i) + 1, this.end(i));
      return Number.isNaN(n) ? NaN : -n;
    }
    return this.uint(i);
  }

  /** Strict unsigned 64-bit decimal as bigint (up to 20 digits), or undefined. */
  u64(i: number): bigint | undefined {
    const len = this.length(i);
    if (len <= 15) {
      const n = this.uint(i);
      return Number.isNaN(n) ? undefined : BigInt(n);
    }
    if (len > 20) return undefined;
    const s = this.start(i);
    const e = this.end(i);
    for (let k = s; k < e; k++) {
      const c = this.line.charCodeAt(k);
      if (c < 48 || c > 57) return undefined;
    }
    return BigInt(this.line.slice(s, e));
  }

  /** A comm printed as `%r` of buf(comm, 16) (as decodeComm): undefined when longer than such a buffer prints. */
  comm(i: number): string | undefined {
    const s = this.start(i);
    const e = this.end(i);
    if (e - s > MAX_COMM_TEXT) return undefined;
    const esc = this.line.indexOf('\\x', s);
    if (esc < 0 || esc >= e) return this.line.slice(s, e);
    if (this.line.startsWith('\\x00', esc) && esc + 4 <= e) return this.line.slice(s, esc);
    return decodeBpfBuf(this.line.slice(s, e));
  }
}

/** parseUint of text[s, e) without slicing it. */
function uintRange(text: string, s: number, e: number): number {
  const len = e - s;
  if (len === 0 || len > 16) return NaN;
  let n = 0;
  for (let k = s; k < e; k++) {
    const c = text.charCodeAt(k);
    if (c < 48 || c > 57) return NaN;
    n = n * 10 + (c - 48);
  }
  // exact below 2^53 for up to 15 digits; Number() rounds 16-digit values correctly
  return len < 16 ? n : Number(text.slice(s, e));
}
