/**
 * Kafka wire primitives: a growable big-endian writer (with Kafka's zigzag
 * varints) and a bounds-checked reader. Every read past the end throws
 * `WireError`, which the connection treats as a corrupt response.
 */
import { GrowableBuffer } from '../../../core/growable-buffer.js';

export class WireError extends Error {
  override name = 'WireError';
}

export class ByteWriter extends GrowableBuffer {
  constructor(initialSize = 4096) {
    super(initialSize);
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint32At(v: number, at: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  int32At(v: number, at: number): void {
    this.buf.writeInt32BE(v, at);
  }

  int64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(typeof v === 'bigint' ? v : BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }

  /** STRING: int16 length + UTF-8. */
  string(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.int16(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  /** NULLABLE_STRING: -1 for null. */
  nullableString(s: string | null): this {
    return s === null ? this.int16(-1) : this.string(s);
  }

  /** BYTES: int32 length + bytes. */
  bytes(b: Uint8Array): this {
    this.int32(b.length);
    return this.raw(b);
  }

  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Unsigned LEB128 of a non-negative 32-bit value. */
  uvarint(v: number): this {
    this.ensure(5);
    let x = v >>> 0;
    while (x >= 0x80) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
    return this;
  }

  /** Kafka's signed varint (zigzag, 32-bit). */
  varint(v: number): this {
    this.ensure(5);
    this.pos = putVarint(this.buf, this.pos, v);
    return this;
  }

  /** Kafka's signed varlong (zigzag), for |v| < 2^52 (timestamps deltas). */
  varlong(v: number): this {
    this.ensure(10);
    this.pos = putVarlong(this.buf, this.pos, v);
    return this;
  }

  /** Reserve n bytes (to patch later); returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** The bytes written so far (a view, not a copy). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Kafka's signed varint (zigzag, 32-bit) of v at p (room made by the caller); returns the position after it. */
export function putVarint(buf: Uint8Array, p: number, v: number): number {
  let x = ((v << 1) ^ (v >> 31)) >>> 0;
  while (x >= 0x80) {
    buf[p++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  buf[p++] = x;
  return p;
}

/** Kafka's signed varlong (zigzag) of v (|v| < 2^52) at p (room made by the caller); returns the position after it. */
export function putVarlong(buf: Uint8Array, p: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return putVarint(buf, p, v);
  let x = v >= 0 ? v * 2 : -v * 2 - 1;
  while (x >= 0x80) {
    buf[p++] = (x % 0x80) | 0x80;
    x = Math.floor(x / 0x80);
  }
  buf[p++] = x;
  return p;
}

/** Byte length of a signed varint (zigzag) of v. */
export function varintSize(v: number): number {
  let x = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (x >= 0x80) {
    x >>>= 7;
    n++;
  }
  return n;
}

/** Byte length of a signed varlong (zigzag) of v, |v| < 2^52. */
export function varlongSize(v: number): number {
  let x = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (x >= 0x80) {
    x = Math.floor(x / 0x80);
    n++;
  }
  return n;
}

export class ByteReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length)
      throw new WireError(`response truncated: need ${n} bytes at ${this.pos} of ${this.buf.length}`);
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  string(): string {
    return this.nullableString() ?? '';
  }

  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** ARRAY: int32 count (-1 null → empty), each element read by fn. Counts are bounded by the bytes left. */
  array<T>(fn: (r: ByteReader) => T): T[] {
    const n = this.int32();
    if (n <= 0) return [];
    if (n > this.buf.length - this.pos)
      throw new WireError(`array of ${n} elements in ${this.buf.length - this.pos} bytes`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(fn(this));
    return out;
  }
}
