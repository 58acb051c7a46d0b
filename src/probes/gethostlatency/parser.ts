/**
 * Parser for probes/gethostlatency/gethostlatency.bt.
 *
 * One lookup is printed as several lines, all keyed by <start nsecs, tid>:
 *
 *   H  start tid chunk1                       entry: host name bytes 0..127 (%r)
 *   M  start tid chunk2                       only for names >= 128 bytes: bytes 128..254 (%r)
 *   A  start tid 4 u32                        a resolved IPv4 address (LE u32 of the 4 bytes)
 *   A  start tid 6 u32 u32 u32 u32            a resolved IPv6 address (4 LE u32 of the 16 bytes)
 *   L  start pid tid cgroup comm func latency ret naddr     end of the lookup (after its A lines)
 *
 * H and M come from other BPF programs than A/L and can reach us on another
 * CPU's buffer, so in either order relative to L: a lookup is emitted when L
 * and H (and M when the first chunk is full) have all been seen. State is
 * bounded: at most MAX_PENDING unfinished lookups (oldest generation dropped),
 * MAX_ADDRS addresses per lookup.
 */
import type { GetHostLatencyEvent } from '../../core/event.js';
import { MAX_LINE_LENGTH, PARSE_NONE } from '../../core/parser.js';
import type { Clock, ParseErrorType, ParseResult, ProbeParser } from '../../core/parser.js';
import { eaiName } from '../../core/decode.js';
import { TabFields } from '../../core/fields.js';
import { Interner } from '../../core/intern.js';
import { decodeEscapedName, ipv4FromLeU32, ipv6FromLeU32 } from './inet.js';

/** Bytes of the name printed in H (bpftrace 0.17: str(name, 128) keeps up to 128 bytes). */
export const CHUNK1_BYTES = 128;
/** Bytes of the name printed in M (str(name + 128, 127)): names are cut at 255 bytes. */
export const CHUNK2_BYTES = 127;
export const MAX_ADDRS = 16;
export const MAX_PENDING = 1024;
export const FUNCS = new Set(['getaddrinfo', 'gethostbyname', 'gethostbyname2']);
const FUNC_LIST = [...FUNCS];
const NONE = PARSE_NONE;
/** result of gethostbyname / gethostbyname2 when they return NULL (h_errno is thread-local and not captured). */
export const HOSTENT_NULL = 'NULL';

interface Pending {
  /** Name bytes 0..127: the name itself when plain ASCII (decodeEscapedName), else its bytes. */
  chunk1?: string | Uint8Array;
  chunk2?: string | Uint8Array;
  addrs: string[];
  /** The last IPv4 address seen, as its word: getaddrinfo repeats each address once per socket type. */
  lastV4: number;
  end?: Omit<GetHostLatencyEvent, 'host' | 'addresses'>;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const LOST_RE = /^Lost (\d+) events$/;

function isDigits(f: TabFields, i: number, maxLen: number): boolean {
  const len = f.length(i);
  if (len === 0 || len > maxLen) return false;
  const line = f.line;
  for (let k = f.start(i), e = f.end(i); k < e; k++) {
    const c = line.charCodeAt(k);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function err(errorType: ParseErrorType, message: string): ParseResult {
  return { kind: 'error', errorType, message };
}

function bytesOf(chunk: string | Uint8Array): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
}

/** The host name from its chunks: strings are plain ASCII and concatenate; anything else is decoded as UTF-8. */
function hostName(c1: string | Uint8Array | undefined, c2: string | Uint8Array | undefined): string {
  if (c1 === undefined) return '';
  const withC2 = c1.length >= CHUNK1_BYTES && c2 !== undefined && c2.length > 0;
  if (typeof c1 === 'string' && (!withC2 || typeof c2 === 'string')) return withC2 ? c1 + (c2 as string) : c1;
  if (!withC2) return utf8.decode(bytesOf(c1));
  const b1 = bytesOf(c1);
  const b2 = bytesOf(c2);
  const bytes = new Uint8Array(b1.length + b2.length);
  bytes.set(b1);
  bytes.set(b2, b1.length);
  return utf8.decode(bytes);
}

export function createGetHostLatencyParser(clock: Clock): ProbeParser {
  // The lookup whose lines are being read is `current`, outside the maps: the
  // lines of one lookup mostly come one after the other, so most lookups are
  // started and finished without a map operation (and their lines need no key).
  // Per-event set/delete on a long-lived Map makes V8 allocate a new table each
  // time, and once the Map is in the old heap those tables pile up there until a
  // full GC (tens of MB, measured). A lookup interleaved with another one is
  // parked in the maps until its next line.
  //
  // Two generations instead of LRU bookkeeping: parked lookups are looked up in
  // both, parked ones go to `young`; when it is full, `old` (never completed
  // within a whole generation) is dropped. At most MAX_PENDING entries.
  // A dropped lookup that has its L line (it finished, but its name never
  // came, or came a whole generation before its L: a DNS outage with many
  // slow lookups at once) is an event all the same: it waits in `ready` and
  // goes out, without its name, in place of the next line's `none`.
  let young = new Map<string, Pending>();
  let old = new Map<string, Pending>();
  /** Finished lookups pushed out of the maps, emitted one per `none` (at most MAX_PENDING). */
  const ready: Pending[] = [];
  let current: Pending | undefined;
  let currentStart = '';
  let currentTid = '';

  const park = (p: Pending): void => {
    if (young.size >= MAX_PENDING / 2) {
      for (const q of old.values()) if (q.end !== undefined && ready.length < MAX_PENDING) ready.push(q);
      old = young;
      young = new Map();
    }
    young.set(`${currentStart}/${currentTid}`, p);
  };

  /** Takes a parked lookup out of the maps, or makes a new one. */
  const unpark = (key: string): Pending => {
    let p = young.get(key);
    if (p !== undefined) {
      young.delete(key);
      return p;
    }
    p = old.get(key);
    if (p !== undefined) {
      old.delete(key);
      return p;
    }
    return { addrs: [], lastV4: -1 };
  };

  const complete = (p: Pending): boolean =>
    p.end !== undefined && p.chunk1 !== undefined && (p.chunk1.length < CHUNK1_BYTES || p.chunk2 !== undefined);

  const build = (p: Pending): GetHostLatencyEvent => {
    // One literal, keys in the order of the JSON form (encode.ts): spreads are slow on Node 20's V8.
    const e = p.end!;
    return {
      type: 'gethostlatency',
      timeUnixNano: e.timeUnixNano,
      pid: e.pid,
      tid: e.tid,
      comm: e.comm,
      cgroupId: e.cgroupId,
      func: e.func,
      host: hostName(p.chunk1, p.chunk2),
      latencyNs: e.latencyNs,
      result: e.result,
      addresses: p.addrs,
    };
  };

  /** Emits the current lookup if it is complete. */
  const finish = (p: Pending): ParseResult => {
    if (!complete(p)) return NONE;
    current = undefined;
    return { kind: 'event', event: build(p) };
  };

  /** Makes the lookup keyed by fields startField and tidField current; undefined when they are not numbers. */
  const lookup = (startField: number, tidField: number): Pending | undefined => {
    if (current !== undefined && f.is(startField, currentStart) && f.is(tidField, currentTid)) return current;
    if (!isDigits(f, startField, 20) || !isDigits(f, tidField, 10)) return undefined;
    if (current !== undefined) park(current);
    currentStart = f.str(startField);
    currentTid = f.str(tidField);
    current = unpark(`${currentStart}/${currentTid}`);
    return current;
  };

  const f = new TabFields(10);
  const comms = new Interner();

  const address = (fam4: boolean, p: Pending): ParseResult => {
    const w0 = f.uint(4);
    let addr: string;
    if (fam4) {
      if (!(w0 <= 0xffffffff)) return err('bad_number', 'A record IPv4 word');
      if (w0 === p.lastV4) return NONE;
      p.lastV4 = w0;
      addr = ipv4FromLeU32(w0);
    } else {
      const w1 = f.uint(5);
      const w2 = f.uint(6);
      const w3 = f.uint(7);
      if (!(w0 <= 0xffffffff && w1 <= 0xffffffff && w2 <= 0xffffffff && w3 <= 0xffffffff)) {
        return err('bad_number', 'A record IPv6 word');
      }
      addr = ipv6FromLeU32(w0, w1, w2, w3);
    }
    // getaddrinfo returns one entry per socket type: keep each address once, in order.
    if (p.addrs.length < MAX_ADDRS && !p.addrs.includes(addr)) p.addrs.push(addr);
    return NONE;
  };

  const endRecord = (line: string): ParseResult => {
    if (f.count !== 10) return err('field_count', `L record with ${f.count} fields`);
    const start = f.u64(1);
    const pid = f.uint(2);
    const tid = f.uint(3);
    const cgroupId = f.uint(4);
    const latencyNs = f.uint(7);
    const ret = f.int(8);
    const naddr = f.uint(9);
    if (
      start === undefined ||
      Number.isNaN(pid) ||
      Number.isNaN(tid) ||
      Number.isNaN(cgroupId) ||
      Number.isNaN(latencyNs) ||
      Number.isNaN(ret) ||
      Number.isNaN(naddr)
    ) {
      return err('bad_number', 'L record numeric field');
    }
    const func = FUNC_LIST.find((name) => f.is(6, name));
    if (func === undefined) return err('bad_value', `L record function ${f.str(6).slice(0, 32)}`);
    const comm = f.comm(5);
    if (comm === undefined) return err('bad_value', 'L record comm longer than a comm buffer');
    const p = lookup(1, 3);
    if (p === undefined) return err('bad_number', `L record start/tid: ${line.slice(0, 40)}`);
    p.end = {
      type: 'gethostlatency',
      timeUnixNano: clock.toUnixNano(start),
      pid,
      tid,
      comm: comms.get(comm),
      cgroupId,
      func,
      latencyNs,
      result: func === 'getaddrinfo' ? eaiName(ret) : ret === 0 ? 'OK' : HOSTENT_NULL,
    };
    return finish(p);
  };

  const pushLine = (line: string): ParseResult => {
    if (line.length > MAX_LINE_LENGTH) return err('too_long', `line of ${line.length} characters`);
    if (line.length === 0) return NONE;
    const n = f.split(line);
    const tag = f.length(0) === 1 ? line.charCodeAt(0) : 0;
    switch (tag) {
      case 0x48: // H
      case 0x4d: {
        // M
        const name = tag === 0x48 ? 'H' : 'M';
        if (n !== 4) return err('field_count', `${name} record with ${n} fields`);
        const max = tag === 0x48 ? CHUNK1_BYTES : CHUNK2_BYTES;
        const chunk = decodeEscapedName(line, max, f.start(3), f.end(3));
        if (chunk === undefined) return err('bad_value', `${name} host chunk longer than ${max} bytes`);
        const p = lookup(1, 2);
        if (p === undefined) return err('bad_number', `${name} record start/tid not numeric`);
        if (tag === 0x48) p.chunk1 = chunk;
        else p.chunk2 = chunk;
        return finish(p);
      }
      case 0x41: {
        // A
        const fam4 = f.is(3, '4');
        if (!((fam4 && n === 5) || (f.is(3, '6') && n === 8))) {
          return fam4 || f.is(3, '6')
            ? err('field_count', `A record with ${n} fields`)
            : err('bad_value', `A record family ${n > 3 ? f.str(3).slice(0, 8) : 'undefined'}`);
        }
        const p = lookup(1, 2);
        if (p === undefined) return err('bad_number', 'A record start/tid not numeric');
        return address(fam4, p);
      }
      case 0x4c: // L
        return endRecord(line);
      default: {
        if (line.startsWith('Attaching ')) return NONE;
        const lost = LOST_RE.exec(line);
        if (lost) return { kind: 'lost', count: Number(lost[1]) };
        return err('unknown_tag', `unexpected line: ${line.slice(0, 40)}`);
      }
    }
  };

  return {
    push(line: string): ParseResult {
      const r = pushLine(line);
      return r.kind === 'none' && ready.length > 0 ? { kind: 'event', event: build(ready.shift()!) } : r;
    },
    flush(): ParseResult {
      if (ready.length > 0) return { kind: 'event', event: build(ready.shift()!) };
      if (current !== undefined) park(current);
      current = undefined;
      // A lookup whose L arrived but whose name lines did not: emit it with what we have.
      for (const gen of [old, young]) {
        for (const [key, p] of gen) {
          if (p.end !== undefined) {
            gen.delete(key);
            return { kind: 'event', event: build(p) };
          }
        }
      }
      young = new Map();
      old = new Map();
      return NONE;
    },
  };
}
