/**
 * The JSON form of events (encode.ts, schema/events/) written as UTF-8 bytes
 * straight into a buffer: what the Kafka and stdout exporters send.
 *
 * Building the line as a string costs a rope of ~40 concatenations per event
 * (garbage for the GC) that is then flattened and copied once more into the
 * output; writing the bytes where they go does neither. One hand-written
 * writer per event type, keys in the order of the published schema with
 * `attributes` last; fields the schema does not have are not written (the
 * schemas do not allow them). Constant parts are pre-encoded byte arrays.
 */
import { SCHEMA_VERSION, type NetEvent, type SkbDropEvent } from './event.js';
import { isUint31, putUint31 } from './decimal.js';
import { GrowableBuffer } from './growable-buffer.js';
import { derivedOnce } from './derived-once.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** `{"type":"<type>","schema_version":N,"time":"` per event type. */
const OPEN = Object.fromEntries(
  (['soconnect', 'udpconnect', 'tcpretrans', 'gethostlatency', 'skbdrop'] as const).map((t) => [
    t,
    bytes(`{"type":"${t}","schema_version":${SCHEMA_VERSION},"time":"`),
  ]),
) as Record<NetEvent['type'], Buffer>;

const K = {
  timeUnixNano: bytes('Z","time_unix_nano":"'),
  pid: bytes(',"pid":'),
  tid: bytes(',"tid":'),
  comm: bytes(',"comm":'),
  cgroupId: bytes(',"cgroup_id":'),
  family: bytes(',"family":'),
  saddr: bytes(',"saddr":'),
  sport: bytes(',"sport":'),
  daddr: bytes(',"daddr":'),
  dport: bytes(',"dport":'),
  result: bytes(',"result":'),
  latencyNs: bytes(',"latency_ns":'),
  nonBlocking: bytes(',"non_blocking":'),
  state: bytes(',"state":'),
  kind: bytes(',"kind":'),
  func: bytes(',"func":'),
  host: bytes(',"host":'),
  addresses: bytes(',"addresses":'),
  reason: bytes(',"reason":'),
  protocol: bytes(',"protocol":'),
  location: bytes(',"location":'),
  stack: bytes(',"stack":'),
  l4Protocol: bytes(',"l4_protocol":'),
  attributes: bytes(',"attributes":'),
  true: bytes('true'),
  false: bytes('false'),
  null: bytes('null'),
};

/** JSON of frozen (shared, never changed) attributes objects, made once; weak: goes with the object. */
const encodedAttributes = new WeakMap<object, Buffer>();
const encodeAttributes = (a: object): Buffer => Buffer.from(JSON.stringify(a), 'utf8');

/** raw() copies up to this many bytes by a loop, more with TypedArray.set (see raw()). */
const RAW_LOOP_MAX = 12;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SYMBOLS = 4096;

/** A JSON string literal, as str() writes it. */
function quote(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return JSON.stringify(s);
  }
  return `"${s}"`;
}

export class JsonWriter extends GrowableBuffer {
  // The "YYYY-MM-DDTHH:MM:SS." and decimal seconds of the last second seen:
  // events come in time order, so most times are one bigint compare and subtraction.
  private secStart = -1n;
  private secEnd = -1n;
  private secPrefix: Buffer = Buffer.alloc(0);
  private secDecimal: Buffer = Buffer.alloc(0);
  private symbols = new Map<string, Buffer>();

  constructor(initialSize = 64 * 1024) {
    super(initialSize);
  }

  /** Pre-encoded ASCII bytes. */
  raw(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    // short ones by a loop (a native copy costs ~40 ns to call; the loop ~4 ns a byte here), longer ones natively
    if (n > RAW_LOOP_MAX) {
      buf.set(b, p);
      this.pos = p + n;
      return;
    }
    for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** Any string as UTF-8, unquoted, as is (already JSON). */
  text(s: string): void {
    this.ensure(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A JSON number as JSON.stringify writes it (non-finite → null). */
  num(x: number): void {
    if (isUint31(x)) {
      this.ensure(10);
      this.pos = putUint31(this.buf, this.pos, x);
      return;
    }
    if (!Number.isFinite(x)) this.raw(K.null);
    else this.text(String(x));
  }

  /** A JSON string literal: printable ASCII copied as is, anything else through JSON.stringify. */
  str(s: string): void {
    const len = s.length;
    this.ensure(len + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = QUOTE;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        this.text(JSON.stringify(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  /**
   * str() for the values of repetitive fields (comm, result, kernel frames...):
   * their encoded literal is kept, so a repeated value costs one lookup (the
   * parsers intern these strings, so the lookup finds them by their cached
   * hash) and a copy of bytes that are hot in the cache. At most SYMBOLS
   * values are kept; then the table starts over.
   */
  sym(s: string): void {
    let b = this.symbols.get(s);
    if (b === undefined) {
      if (this.symbols.size >= SYMBOLS) this.symbols = new Map();
      b = Buffer.from(quote(s), 'utf8');
      this.symbols.set(s, b);
    }
    this.raw(b);
  }

  /** A JSON array of strings; `sym`: of repetitive values (see sym()). */
  list(list: readonly string[], sym: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = 0x5b; // [
    for (let i = 0; i < list.length; i++) {
      if (i > 0) {
        this.ensure(1);
        this.buf[this.pos++] = 0x2c; // ,
      }
      if (sym) this.sym(list[i]!);
      else this.str(list[i]!);
    }
    this.ensure(1);
    this.buf[this.pos++] = 0x5d; // ]
  }

  /** `<rfc3339 with ns>Z","time_unix_nano":"<decimal>"` (the opening quote is already written). */
  time(unixNano: bigint): void {
    if (unixNano < this.secStart || unixNano >= this.secEnd) {
      if (unixNano < 0n) {
        this.text(`${rfc3339NanoSlow(unixNano)}","time_unix_nano":"${unixNano}"`);
        return;
      }
      this.secStart = unixNano - (unixNano % 1_000_000_000n);
      this.secEnd = this.secStart + 1_000_000_000n;
      this.secPrefix = bytes(new Date(Number(this.secStart / 1_000_000n)).toISOString().slice(0, 20));
      this.secDecimal = bytes(this.secStart === 0n ? '' : String(this.secStart / 1_000_000_000n));
    }
    const ns = Number(unixNano - this.secStart);
    this.raw(this.secPrefix);
    this.nine(ns);
    this.raw(K.timeUnixNano);
    if (this.secDecimal.length === 0) {
      // below one second: the decimal has no seconds part and no leading zeros
      this.num(ns);
    } else {
      this.raw(this.secDecimal);
      this.nine(ns);
    }
    this.ensure(1);
    this.buf[this.pos++] = QUOTE;
  }

  /** Exactly nine digits, zero-padded (0 ≤ n < 1e9). */
  private nine(n: number): void {
    this.ensure(9);
    const buf = this.buf;
    let p = this.pos + 9;
    this.pos = p;
    let v = n;
    for (let i = 0; i < 9; i++) {
      const q = (v / 10) | 0;
      buf[--p] = 48 + v - q * 10;
      v = q;
    }
  }

  /**
   * Appends the event's JSON form (no newline). One branch per type, each
   * reading its own fields: loads shared by five event shapes would all be
   * megamorphic.
   */
  event(e: NetEvent): void {
    switch (e.type) {
      case 'soconnect':
        this.base(OPEN.soconnect, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
        this.conn(e.family, e.saddr, e.sport, e.daddr, e.dport);
        this.raw(K.result);
        this.sym(e.result);
        this.raw(K.latencyNs);
        this.num(e.latencyNs);
        this.raw(K.nonBlocking);
        this.raw(e.nonBlocking ? K.true : K.false);
        break;
      case 'udpconnect':
        this.base(OPEN.udpconnect, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
        this.conn(e.family, e.saddr, e.sport, e.daddr, e.dport);
        this.raw(K.result);
        this.sym(e.result);
        this.raw(K.latencyNs);
        this.num(e.latencyNs);
        break;
      case 'tcpretrans':
        this.base(OPEN.tcpretrans, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
        this.conn(e.family, e.saddr, e.sport, e.daddr, e.dport);
        this.raw(K.state);
        this.sym(e.state);
        this.raw(K.kind);
        this.sym(e.kind);
        break;
      case 'gethostlatency':
        this.base(OPEN.gethostlatency, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
        this.raw(K.func);
        this.sym(e.func);
        this.raw(K.host);
        this.str(e.host);
        this.raw(K.latencyNs);
        this.num(e.latencyNs);
        this.raw(K.result);
        this.sym(e.result);
        this.raw(K.addresses);
        this.list(e.addresses, false);
        break;
      case 'skbdrop':
        this.base(OPEN.skbdrop, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
        this.skbDrop(e);
        break;
    }
    const a = e.attributes;
    if (a !== undefined) {
      this.raw(K.attributes);
      // shared by the events of one process (enrich/attrs.ts withSharedAttributes): encoded once
      if (Object.isFrozen(a)) this.raw(derivedOnce(encodedAttributes, a, encodeAttributes));
      else this.text(JSON.stringify(a));
    }
    this.ensure(1);
    this.buf[this.pos++] = 0x7d; // }
  }

  /**
   * event() written into another buffer at its `pos` (the Kafka exporter's
   * record buffers), with this writer's caches. If it throws, `target` is as
   * it was.
   */
  eventInto(target: GrowableBuffer, e: NetEvent): void {
    const buf = this.buf;
    const pos = this.pos;
    this.buf = target.buf;
    this.pos = target.pos;
    try {
      this.event(e);
      target.buf = this.buf;
      target.pos = this.pos;
    } finally {
      this.buf = buf;
      this.pos = pos;
    }
  }

  /** `{"type":…,"schema_version":…,"time":…` up to cgroup_id. */
  private base(open: Uint8Array, timeUnixNano: bigint, pid: number, tid: number, comm: string, cgroupId: number): void {
    this.raw(open);
    this.time(timeUnixNano);
    this.raw(K.pid);
    this.num(pid);
    this.raw(K.tid);
    this.num(tid);
    this.raw(K.comm);
    this.sym(comm);
    this.raw(K.cgroupId);
    this.num(cgroupId);
  }

  private conn(family: string, saddr: string, sport: number, daddr: string, dport: number): void {
    this.raw(K.family);
    this.sym(family);
    this.raw(K.saddr);
    this.str(saddr);
    this.raw(K.sport);
    this.num(sport);
    this.raw(K.daddr);
    this.str(daddr);
    this.raw(K.dport);
    this.num(dport);
  }

  private skbDrop(e: SkbDropEvent): void {
    this.raw(K.reason);
    this.sym(e.reason);
    this.raw(K.protocol);
    this.sym(e.protocol);
    this.raw(K.location);
    this.sym(e.location);
    this.raw(K.stack);
    this.list(e.stack, true);
    // from the packet's IP header, when it has one
    if (e.family !== undefined) this.field(K.family, e.family, true);
    if (e.saddr !== undefined) this.field(K.saddr, e.saddr, false);
    if (e.daddr !== undefined) this.field(K.daddr, e.daddr, false);
    if (e.l4Protocol !== undefined) this.field(K.l4Protocol, e.l4Protocol, true);
    if (e.sport !== undefined) this.field(K.sport, e.sport, false);
    if (e.dport !== undefined) this.field(K.dport, e.dport, false);
  }

  /** `,"key":value` for a string (`sym`: a repetitive one) or a number. */
  private field(key: Uint8Array, value: string | number, sym: boolean): void {
    this.raw(key);
    if (typeof value === 'number') this.num(value);
    else if (sym) this.sym(value);
    else this.str(value);
  }
}

export function rfc3339NanoSlow(unixNano: bigint): string {
  const ms = unixNano / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // ...T..:..:..SSSZ
  const subMs = Number(unixNano % 1_000_000n);
  return `${iso.slice(0, 23)}${String(subMs).padStart(6, '0')}Z`;
}
