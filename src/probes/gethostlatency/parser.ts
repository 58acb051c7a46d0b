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
import { MAX_LINE_LENGTH } from '../../core/parser.js';
import type { Clock, ParseErrorType, ParseResult, ProbeParser } from '../../core/parser.js';
import { decodeComm, eaiName, parseInt32, parseU64, parseUint } from '../../core/decode.js';
import { decodeEscapedBytes, ipv4FromLeU32, ipv6FromLeU32 } from './inet.js';

/** Bytes of the name printed in H (bpftrace 0.17: str(name, 128) keeps up to 128 bytes). */
export const CHUNK1_BYTES = 128;
/** Bytes of the name printed in M (str(name + 128, 127)): names are cut at 255 bytes. */
export const CHUNK2_BYTES = 127;
export const MAX_ADDRS = 16;
export const MAX_PENDING = 1024;
export const FUNCS = new Set(['getaddrinfo', 'gethostbyname', 'gethostbyname2']);
/** result of gethostbyname / gethostbyname2 when they return NULL (h_errno is thread-local and not captured). */
export const HOSTENT_NULL = 'NULL';

interface Pending {
  chunk1?: Uint8Array;
  chunk2?: Uint8Array;
  addrs: string[];
  end?: Omit<GetHostLatencyEvent, 'host' | 'addresses'>;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const LOST_RE = /^Lost (\d+) events$/;

function isDigits(text: string, maxLen: number): boolean {
  if (text.length === 0 || text.length > maxLen) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function err(errorType: ParseErrorType, message: string): ParseResult {
  return { kind: 'error', errorType, message };
}

export function createGetHostLatencyParser(clock: Clock): ProbeParser {
  // Two generations instead of LRU bookkeeping: lookups are looked up in both,
  // new ones go to `young`; when it is full, `old` (never completed within a
  // whole generation) is dropped. At most MAX_PENDING entries, O(1) per line.
  let young = new Map<string, Pending>();
  let old = new Map<string, Pending>();

  const slot = (key: string): Pending => {
    let p = young.get(key);
    if (p !== undefined) return p;
    p = old.get(key);
    if (p !== undefined) {
      old.delete(key);
    } else {
      p = { addrs: [] };
    }
    if (young.size >= MAX_PENDING / 2) {
      old = young;
      young = new Map();
    }
    young.set(key, p);
    return p;
  };

  const complete = (p: Pending): boolean =>
    p.end !== undefined && p.chunk1 !== undefined && (p.chunk1.length < CHUNK1_BYTES || p.chunk2 !== undefined);

  const build = (p: Pending): GetHostLatencyEvent => {
    const c1 = p.chunk1 ?? new Uint8Array(0);
    let bytes = c1;
    if (c1.length >= CHUNK1_BYTES && p.chunk2 !== undefined && p.chunk2.length > 0) {
      bytes = new Uint8Array(c1.length + p.chunk2.length);
      bytes.set(c1);
      bytes.set(p.chunk2, c1.length);
    }
    // An explicit literal (same key order as the spread it replaces): spreads are slow on Node 20's V8.
    const e = p.end!;
    return {
      type: 'gethostlatency',
      timeUnixNano: e.timeUnixNano,
      pid: e.pid,
      tid: e.tid,
      comm: e.comm,
      cgroupId: e.cgroupId,
      func: e.func,
      latencyNs: e.latencyNs,
      result: e.result,
      host: utf8.decode(bytes),
      addresses: p.addrs,
    };
  };

  const finish = (key: string, p: Pending): ParseResult => {
    if (!complete(p)) return { kind: 'none' };
    young.delete(key);
    old.delete(key);
    return { kind: 'event', event: build(p) };
  };

  const keyOf = (startText: string, tidText: string): string | undefined => {
    if (!isDigits(startText, 20) || !isDigits(tidText, 10)) return undefined;
    return `${startText}/${tidText}`;
  };

  return {
    push(line: string): ParseResult {
      if (line.length > MAX_LINE_LENGTH) return err('too_long', `line of ${line.length} characters`);
      if (line.length === 0) return { kind: 'none' };
      const f = line.split('\t');
      const tag = f[0]!;
      switch (tag) {
        case 'H':
        case 'M': {
          if (f.length !== 4) return err('field_count', `${tag} record with ${f.length} fields`);
          const key = keyOf(f[1]!, f[2]!);
          if (key === undefined) return err('bad_number', `${tag} record start/tid not numeric`);
          const max = tag === 'H' ? CHUNK1_BYTES : CHUNK2_BYTES;
          const bytes = decodeEscapedBytes(f[3]!, max);
          if (bytes === undefined) return err('bad_value', `${tag} host chunk longer than ${max} bytes`);
          const p = slot(key);
          if (tag === 'H') p.chunk1 = bytes;
          else p.chunk2 = bytes;
          return finish(key, p);
        }
        case 'A': {
          const fam = f[3];
          if (!((fam === '4' && f.length === 5) || (fam === '6' && f.length === 8))) {
            return fam === '4' || fam === '6'
              ? err('field_count', `A record with ${f.length} fields`)
              : err('bad_value', `A record family ${String(fam)}`);
          }
          const key = keyOf(f[1]!, f[2]!);
          if (key === undefined) return err('bad_number', 'A record start/tid not numeric');
          const w0 = parseUint(f[4]!);
          let addr: string;
          if (fam === '4') {
            if (!(w0 <= 0xffffffff)) return err('bad_number', 'A record IPv4 word');
            addr = ipv4FromLeU32(w0);
          } else {
            const w1 = parseUint(f[5]!);
            const w2 = parseUint(f[6]!);
            const w3 = parseUint(f[7]!);
            if (!(w0 <= 0xffffffff && w1 <= 0xffffffff && w2 <= 0xffffffff && w3 <= 0xffffffff)) {
              return err('bad_number', 'A record IPv6 word');
            }
            addr = ipv6FromLeU32(w0, w1, w2, w3);
          }
          const p = slot(key);
          // getaddrinfo returns one entry per socket type: keep each address once, in order.
          if (p.addrs.length < MAX_ADDRS && !p.addrs.includes(addr)) p.addrs.push(addr);
          return { kind: 'none' };
        }
        case 'L': {
          if (f.length !== 10) return err('field_count', `L record with ${f.length} fields`);
          const start = parseU64(f[1]!);
          const pid = parseUint(f[2]!);
          const tid = parseUint(f[3]!);
          const cgroupId = parseUint(f[4]!);
          const latencyNs = parseUint(f[7]!);
          const ret = parseInt32(f[8]!);
          const naddr = parseUint(f[9]!);
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
          const func = f[6]!;
          if (!FUNCS.has(func)) return err('bad_value', `L record function ${func.slice(0, 32)}`);
          const comm = decodeComm(f[5]!);
          if (comm === undefined) return err('bad_value', 'L record comm longer than a comm buffer');
          const key = `${f[1]!}/${f[3]!}`;
          const p = slot(key);
          p.end = {
            type: 'gethostlatency',
            timeUnixNano: clock.toUnixNano(start),
            pid,
            tid,
            comm,
            cgroupId,
            func,
            latencyNs,
            result: func === 'getaddrinfo' ? eaiName(ret) : ret === 0 ? 'OK' : HOSTENT_NULL,
          };
          return finish(key, p);
        }
        default: {
          if (line.startsWith('Attaching ')) return { kind: 'none' };
          const lost = LOST_RE.exec(line);
          if (lost) return { kind: 'lost', count: Number(lost[1]) };
          return err('unknown_tag', `unexpected line: ${line.slice(0, 40)}`);
        }
      }
    },
    flush(): ParseResult {
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
      return { kind: 'none' };
    },
  };
}
