/**
 * A protobuf writer over one growable Buffer, for netspan's own OTLP
 * encoders. It writes exactly the bytes the OpenTelemetry JS SDK's
 * serializer (@opentelemetry/otlp-transformer ProtobufWriter and
 * common-serializer) writes for the same values: minimal varints, int_value
 * for integers within int64 (two's complement for negatives), double_value
 * otherwise, UTF-8 with lone surrogates as U+FFFD (what TextEncoder does),
 * and nothing for values OTLP has no AnyValue for (bigint, undefined, null,
 * functions).
 *
 * Faster than the SDK's writer because short ASCII strings are copied in one
 * loop, longer ones by Buffer.write (native), the constant parts (attribute
 * keys with their tags and lengths) are encoded once and copied, and the
 * common KeyValues (ASCII string, small integer, boolean, array of ASCII
 * strings) are written with every length computed up front (kv()): no
 * intermediate values, no length moved after the fact.
 */
import { GrowableBuffer } from '../../core/growable-buffer.js';
import { asciiAt } from '../../core/ascii.js';
import type { SpanRef } from './ids.js';

/** Wire types. */
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

export const tag = (field: number, wire: number): number => (field << 3) | wire;

/** Bytes of the varint encoding of a non-negative integer (negatives take 10). */
export function varintSize(v: number): number {
  if (v < 0) return 10;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  if (v < 0x40000000000) return 6;
  if (v < 0x2000000000000) return 7;
  if (v < 0x100000000000000) return 8;
  return 9;
}

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;
/** Strings up to this many UTF-16 units go through the JS loop; longer ones through Buffer.write. */
const SHORT_STRING = 48;
/** kv() strings up to this many units are copied by a loop; longer ones by Buffer.write (see putAscii). */
const ASCII_LOOP_MAX = 32;

/** AnyValue field tags. */
const ANY_STRING = tag(1, LEN);
const ANY_BOOL = tag(2, VARINT);
const ANY_INT = tag(3, VARINT);
const ANY_DOUBLE = tag(4, FIXED64);
const ANY_ARRAY = tag(5, LEN);
const ANY_KVLIST = tag(6, LEN);
const ANY_BYTES = tag(7, LEN);
/** ArrayValue.values, KeyValueList.values, KeyValue.key: all field 1. */
const FIELD1_LEN = tag(1, LEN);
/** KeyValue.value. */
const KV_VALUE = tag(2, LEN);

export class ProtoWriter extends GrowableBuffer {
  /** A view of `buf` for writing constant bytes four at a time (see putKey). */
  private view: DataView;

  constructor(initialSize = 64 * 1024) {
    super(initialSize);
    this.view = viewOf(this.buf);
  }

  override ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    super.ensure(n);
    this.view = viewOf(this.buf);
  }

  /**
   * What was written, as a Buffer of its own (a view of the writer's buffer,
   * no copy); the writer goes on with `next` (a buffer handed back to a
   * ChunkPool) when it is at least as large, or else with a new one of the
   * same size.
   */
  detach(next?: Buffer): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = next !== undefined && next.length >= this.buf.length ? next : Buffer.allocUnsafe(this.buf.length);
    this.view = viewOf(this.buf);
    this.pos = 0;
    return out;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    if (n > 64) {
      this.buf.set(bytes, this.pos);
      this.pos += n;
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = bytes[i]!;
    this.pos = p;
  }

  /** A copy of bytes [start, end) of what was written. */
  copy(start = 0, end = this.pos): Buffer {
    const out = Buffer.allocUnsafe(end - start);
    this.buf.copy(out, 0, start, end);
    return out;
  }

  /** The SDK's varint of a JS number: 32-bit loop up to 2^32 - 1, otherwise 64-bit (two's complement for negatives). */
  varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        buf[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[this.pos++] = v;
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 0x100000000) >>> 0;
    } else {
      const abs = Math.abs(value);
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 0x100000000) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 0x7f) {
      buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low & 0x7f;
  }

  /** uint64 little-endian (values wrap modulo 2^64). */
  fixed64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    this.pos += 8;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Length-prefixed UTF-8. */
  string(s: string): void {
    const len = s.length;
    if (len <= SHORT_STRING) {
      this.ensure(1 + len);
      const buf = this.buf;
      const p = asciiAt(buf, this.pos + 1, s, len);
      if (p < 0) {
        this.stringNative(s);
        return;
      }
      buf[this.pos] = len; // SHORT_STRING < 128: one length byte
      this.pos = p;
      return;
    }
    this.stringNative(s);
  }

  private stringNative(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  /** Length-prefixed 16 bytes of a trace id. */
  traceId(r: SpanRef): void {
    this.ensure(17);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = 16;
    word32(buf, p + 1, r.t0);
    word32(buf, p + 5, r.t1);
    word32(buf, p + 9, r.t2);
    word32(buf, p + 13, r.t3);
    this.pos = p + 17;
  }

  /** Length-prefixed 8 bytes of a span id. */
  spanId(r: SpanRef): void {
    this.ensure(9);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = 8;
    word32(buf, p + 1, r.s0);
    word32(buf, p + 5, r.s1);
    this.pos = p + 9;
  }

  /** Reserve one byte for the length of a nested message; returns where it starts. */
  startLen(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Reserve two bytes for the length of a nested message that is likely 128 to 16,383 bytes long. */
  startLen2(): number {
    this.ensure(2);
    const at = this.pos;
    this.pos += 2;
    return at;
  }

  /** Write the length reserved by startLen2(), moving the content when it needs one byte or more than two. */
  endLen2(at: number): void {
    const len = this.pos - at - 2;
    if (len >= 0x80 && len < 0x4000) {
      this.buf[at] = (len & 0x7f) | 0x80;
      this.buf[at + 1] = len >>> 7;
      return;
    }
    if (len < 0x80) {
      this.buf.copyWithin(at + 1, at + 2, this.pos);
      this.pos--;
      this.buf[at] = len;
      return;
    }
    const size = varintSize(len);
    this.ensure(size - 2);
    this.buf.copyWithin(at + size, at + 2, this.pos);
    this.pos += size - 2;
    putVarint32(this.buf, at, len);
  }

  /** Write the length reserved by startLen(), moving the content when it needs more than one byte. */
  endLen(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const size = varintSize(len);
    this.ensure(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.pos);
    this.pos += size - 1;
    const end = this.pos;
    this.pos = at;
    this.varint(len);
    this.pos = end;
  }

  /** An AnyValue's fields (without the enclosing tag and length), as the SDK's writeAnyValue. */
  anyValue(value: unknown): void {
    switch (typeof value) {
      case 'string':
        this.byte(ANY_STRING);
        this.string(value);
        return;
      case 'boolean':
        this.byte(ANY_BOOL);
        this.byte(value ? 1 : 0);
        return;
      case 'number':
        if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
          this.byte(ANY_INT);
          this.varint(value);
        } else {
          this.byte(ANY_DOUBLE);
          this.double(value);
        }
        return;
      case 'object':
        if (value === null) return;
        if (value instanceof Uint8Array) {
          this.byte(ANY_BYTES);
          this.varint(value.length);
          this.raw(value);
        } else if (Array.isArray(value)) {
          this.byte(ANY_ARRAY);
          const a = this.startLen();
          for (const item of value as unknown[]) {
            this.byte(FIELD1_LEN);
            const v = this.startLen();
            this.anyValue(item);
            this.endLen(v);
          }
          this.endLen(a);
        } else {
          this.byte(ANY_KVLIST);
          const l = this.startLen();
          const obj = value as Record<string, unknown>;
          for (const k in obj) {
            if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
            this.byte(FIELD1_LEN);
            this.keyValue(keyField(k), obj[k]);
          }
          this.endLen(l);
        }
        return;
      default:
      // bigint, undefined, function, symbol: no AnyValue, as in the SDK
    }
  }

  /** A KeyValue's length and content: `key` is keyField(name); the tag is the caller's. */
  keyValue(key: Uint8Array, value: unknown): void {
    if (typeof value === 'string' && this.shortStringKeyValue(key, value)) return;
    if (typeof value === 'number' && value >= 0 && value < 0x80 && (value | 0) === value) {
      // small non-negative int: every length is one byte
      const n = key.length;
      this.ensure(n + 6);
      const buf = this.buf;
      let p = this.pos;
      buf[p++] = n + 4;
      for (let i = 0; i < n; i++) buf[p++] = key[i]!;
      buf[p++] = KV_VALUE;
      buf[p++] = 2;
      buf[p++] = ANY_INT;
      buf[p++] = value;
      this.pos = p;
      return;
    }
    const kv = this.startLen();
    this.raw(key);
    this.byte(KV_VALUE);
    const v = this.startLen();
    this.anyValue(value);
    this.endLen(v);
    this.endLen(kv);
  }

  /**
   * A KeyValue with a short ASCII string value, every length one byte, in
   * one loop. False (nothing written) when the string does not qualify.
   */
  private shortStringKeyValue(key: Uint8Array, s: string): boolean {
    const len = s.length;
    const n = key.length;
    if (len > SHORT_STRING || n + len + 4 >= 0x80) return false;
    this.ensure(n + len + 5);
    const buf = this.buf;
    const at = this.pos;
    let p = at + 1;
    for (let i = 0; i < n; i++) buf[p++] = key[i]!;
    buf[p++] = KV_VALUE;
    buf[p++] = len + 2;
    buf[p++] = ANY_STRING;
    buf[p++] = len;
    p = asciiAt(buf, p, s, len);
    if (p < 0) return false;
    buf[at] = p - at - 1;
    this.pos = p;
    return true;
  }

  /** Repeated KeyValue `field` for every own enumerable property of `attrs`, in order (the SDK's writeAttributes). */
  attributes(attrs: Readonly<Record<string, unknown>>, field: number): void {
    const t = tag(field, LEN);
    for (const k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
      this.kv(t, keyPrefix(k), attrs[k]);
    }
  }

  /**
   * One KeyValue as field `fieldTag` (tag, length, key, value): the bytes of
   * byte(fieldTag) + keyValue(key, value). ASCII strings, integers in
   * [0, 2^32), booleans and arrays of ASCII strings are written front to
   * back with every length computed first (a string is taken to be ASCII,
   * so its UTF-8 length is its length; when it is not, the KeyValue is
   * written again the general way); anything else goes through keyValue().
   */
  kv(fieldTag: number, key: KeyPrefix, value: unknown): void {
    switch (typeof value) {
      case 'string':
        if (this.stringKv(fieldTag, key, value)) return;
        break;
      case 'number':
        if (value >>> 0 === value) {
          this.uintKv(fieldTag, key, value);
          return;
        }
        break;
      case 'boolean':
        this.boolKv(fieldTag, key, value);
        return;
      case 'object':
        if (Array.isArray(value) && this.stringArrayKv(fieldTag, key, value as unknown[])) return;
        break;
      default:
    }
    this.byte(fieldTag);
    this.keyValue(key.key, value);
  }

  /**
   * kv() of a value known to be a string (no typeof dispatch): writers of
   * fields whose type is fixed call this one, numKv() or boolKv().
   */
  strKv(fieldTag: number, key: KeyPrefix, s: string): void {
    if (this.stringKv(fieldTag, key, s)) return;
    this.byte(fieldTag);
    this.keyValue(key.key, s);
  }

  /** kv() of a value known to be a number. */
  numKv(fieldTag: number, key: KeyPrefix, n: number): void {
    if (n >>> 0 === n) {
      this.uintKv(fieldTag, key, n);
      return;
    }
    this.byte(fieldTag);
    this.keyValue(key.key, n);
  }

  /** Constant bytes at `p` (the caller made room): their whole words through the view, then the rest. */
  private putKey(p: number, key: ConstBytes): number {
    const view = this.view;
    const words = key.words;
    let at = p;
    for (let i = 0; i < words.length; i++) {
      view.setInt32(at, words[i]!, true);
      at += 4;
    }
    const tail = key.tail;
    const buf = this.buf;
    for (let i = 0; i < tail.length; i++) buf[at++] = tail[i]!;
    return at;
  }

  /**
   * kv() of the string `head` + the nine digits of `digits` (an integer in
   * [0, 1e9), zero-padded) + the character `last` when it is not -1: a
   * timestamp written from its parts, without making the string. `head` is
   * ASCII.
   */
  digitsKv(fieldTag: number, key: KeyPrefix, head: ConstBytes, digits: number, last: number): void {
    const len = head.length + 9 + (last < 0 ? 0 : 1);
    let p = this.lenValueHead(fieldTag, key, ANY_STRING, len);
    const buf = this.buf; // (after lenValueHead: it may have grown the buffer)
    p = this.putKey(p, head);
    let d = digits;
    for (let i = p + 8; i >= p; i--) {
      const q = (d / 10) | 0;
      buf[i] = 0x30 + d - q * 10;
      d = q;
    }
    p += 9;
    if (last >= 0) buf[p++] = last;
    this.pos = p;
  }

  /** A fixed64 from its low and high 32 bits. */
  fixed64Words(low: number, high: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, low, true);
    this.view.setUint32(this.pos + 4, high, true);
    this.pos += 8;
  }

  /**
   * Makes room for a KeyValue whose AnyValue is a length-delimited field
   * `anyTag` (string_value, array_value) of `len` bytes, and writes
   * everything before those bytes (tag, lengths, key, the AnyValue field's
   * tag and length); returns where the bytes go. `pos` is not moved: the
   * caller sets it once the value is written.
   */
  private lenValueHead(fieldTag: number, key: KeyPrefix, anyTag: number, len: number): number {
    const av = 1 + varintSize(len) + len;
    let p = this.kvHead(fieldTag, key, key.length + varintSize(av) + av);
    const buf = this.buf; // (after kvHead: it may have grown the buffer)
    p = putVarint32(buf, p, av);
    buf[p++] = anyTag;
    return putVarint32(buf, p, len);
  }

  /**
   * Makes room for a KeyValue of `kvLen` bytes (after its tag and length)
   * and writes its tag, length and key (with the value's tag); returns
   * where the AnyValue's length goes. `pos` is not moved.
   */
  private kvHead(fieldTag: number, key: KeyPrefix, kvLen: number): number {
    this.ensure(kvLen + 16);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = fieldTag;
    p = putVarint32(buf, p, kvLen);
    return this.putKey(p, key);
  }

  /** kv() of an integer in [0, 2^32): AnyValue.int_value. */
  private uintKv(fieldTag: number, key: KeyPrefix, v: number): void {
    const n = key.length;
    const kvLen = n + 2 + varintSize(v);
    let p = this.kvHead(fieldTag, key, kvLen);
    const buf = this.buf;
    buf[p++] = kvLen - n - 1;
    buf[p++] = ANY_INT;
    this.pos = putVarint32(buf, p, v);
  }

  /** kv() of a boolean: AnyValue.bool_value. */
  boolKv(fieldTag: number, key: KeyPrefix, v: boolean): void {
    let p = this.kvHead(fieldTag, key, key.length + 3);
    const buf = this.buf;
    buf[p++] = 2;
    buf[p++] = ANY_BOOL;
    buf[p++] = v ? 1 : 0;
    this.pos = p;
  }

  /** kv() of a string: AnyValue.string_value. False (nothing written) when `s` is not ASCII. */
  private stringKv(fieldTag: number, key: KeyPrefix, s: string): boolean {
    const len = s.length;
    let p = this.lenValueHead(fieldTag, key, ANY_STRING, len);
    p = putAscii(this.buf, p, s, len);
    if (p < 0) return false;
    this.pos = p;
    return true;
  }

  /** kv() of an array of strings: AnyValue.array_value of string_values. False (nothing written) when it is not one, or not all ASCII. */
  private stringArrayKv(fieldTag: number, key: KeyPrefix, a: readonly unknown[]): boolean {
    let arr = 0;
    for (let i = 0; i < a.length; i++) {
      const s = a[i];
      if (typeof s !== 'string') return false;
      const len = s.length;
      const av = 1 + varintSize(len) + len;
      arr += 1 + varintSize(av) + av;
    }
    let p = this.lenValueHead(fieldTag, key, ANY_ARRAY, arr);
    const buf = this.buf;
    for (let i = 0; i < a.length; i++) {
      const s = a[i] as string;
      buf[p++] = FIELD1_LEN;
      const len = s.length;
      p = putVarint32(buf, p, 1 + varintSize(len) + len);
      buf[p++] = ANY_STRING;
      p = putVarint32(buf, p, len);
      p = putAscii(buf, p, s, len);
      if (p < 0) return false;
    }
    this.pos = p;
    return true;
  }
}

const viewOf = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.length);

/** A varint of an integer in [0, 2^32) at `p`; returns the position after it. */
function putVarint32(buf: Buffer, p: number, value: number): number {
  let v = value;
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/**
 * The UTF-8 bytes of `s` (`len`: its length) at `p` (the caller made room for len + 8
 * bytes); returns the position after them, or -1 when `s` is not ASCII
 * (its UTF-8 is longer than its length, so the length written before it is
 * wrong). Short strings by a loop, longer ones natively: Buffer.write's
 * UTF-8 equals s.length bytes only for an ASCII string (every other UTF-16
 * unit takes more bytes than units), and a non-ASCII string that does not
 * fit is cut short, which the same comparison catches.
 */
function putAscii(buf: Buffer, p: number, s: string, len: number): number {
  if (len > ASCII_LOOP_MAX) return buf.write(s, p, 'utf8') === len ? p + len : -1;
  return asciiAt(buf, p, s, len);
}

const KEY_CACHE_MAX = 2048;
const keyCache = new Map<string, Buffer>();
const keyWriter = new ProtoWriter(1024);

/** KeyValue.key as bytes: tag, length, UTF-8 name. Cached for the (few) names netspan uses. */
export function keyField(name: string): Buffer {
  let b = keyCache.get(name);
  if (b === undefined) {
    keyWriter.pos = 0;
    keyWriter.byte(FIELD1_LEN);
    keyWriter.string(name);
    b = keyWriter.copy();
    if (keyCache.size < KEY_CACHE_MAX) keyCache.set(name, b);
  }
  return b;
}

/**
 * Constant bytes, also as little-endian 32-bit words, which ProtoWriter
 * copies four bytes at a time (a byte loop over the keys of the KeyValues
 * was a tenth of the log encoding's time).
 */
export class ConstBytes {
  readonly length: number;
  readonly words: Int32Array;
  readonly tail: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.length = bytes.length;
    this.words = new Int32Array(bytes.length >> 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < this.words.length; i++) this.words[i] = view.getInt32(i * 4, true);
    this.tail = bytes.slice(this.words.length * 4);
  }
}

/**
 * KeyValue.key (tag, length, name) and the KeyValue.value tag after it:
 * what every KeyValue has between its length and its value's length.
 */
export class KeyPrefix extends ConstBytes {
  constructor(readonly key: Buffer) {
    super(Buffer.concat([key, Buffer.of(KV_VALUE)]));
  }
}

const prefixCache = new Map<string, KeyPrefix>();

/** The KeyPrefix of a key name. Cached for the (few) names netspan uses. */
export function keyPrefix(name: string): KeyPrefix {
  let k = prefixCache.get(name);
  if (k === undefined) {
    k = new KeyPrefix(keyField(name));
    if (prefixCache.size < KEY_CACHE_MAX) prefixCache.set(name, k);
  }
  return k;
}

/** A 32-bit word, big-endian (stores into a Uint8Array keep the low 8 bits). */
function word32(buf: Buffer, p: number, w: number): void {
  buf[p] = w >>> 24;
  buf[p + 1] = w >>> 16;
  buf[p + 2] = w >>> 8;
  buf[p + 3] = w;
}
