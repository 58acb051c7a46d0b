/**
 * Parser for probes/skbdrop/skbdrop.bt. One record per dropped packet:
 *
 *   D <tab> nsecs pid tid cgroup comm reason ethertype location l3 l4 addrs ports
 *   <blank line>
 *           frame+off          (kernel stack, innermost first, indented)
 *   <blank line>
 *   E
 *
 * l3: "4" | "6" | "-"; l4: IP protocol number | "-"; addrs: %rx of saddr+daddr
 * (8 or 32 bytes) | "-"; ports: the 4 bytes at the L4 header as a
 * little-endian u32 | "-". The whole record comes from one printf, so its
 * lines are contiguous; the parser still copes with broken framing: a frame
 * line without a header is an 'orphan' error, a new header before "E"
 * reports the unterminated record as an error, more than MAX_FRAMES frames
 * abort the record, flush() emits a record still open at end of stream.
 */
import type { SkbDropEvent } from '../../core/event.js';
import { MAX_LINE_LENGTH, PARSE_NONE } from '../../core/parser.js';
import type { Clock, ParseErrorType, ParseResult, ProbeParser } from '../../core/parser.js';
import { TabFields } from '../../core/fields.js';
import { Interner } from '../../core/intern.js';
import { decodeHexEscaped, formatIPv4, formatIPv6 } from '../gethostlatency/inet.js';
import { dropReasonName } from './reasons.js';

/** bpftrace 0.17 records at most 127 kernel frames (perf_event_max_stack); anything beyond is garbage. */
export const MAX_FRAMES = 128;

const IP_PROTOCOLS: Record<number, string> = {
  0: 'HOPOPT',
  1: 'ICMP',
  2: 'IGMP',
  4: 'IPIP',
  6: 'TCP',
  17: 'UDP',
  33: 'DCCP',
  41: 'IPv6',
  43: 'IPv6-Route',
  44: 'IPv6-Frag',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
  58: 'ICMPv6',
  59: 'IPv6-NoNxt',
  60: 'IPv6-Opts',
  103: 'PIM',
  112: 'VRRP',
  115: 'L2TP',
  132: 'SCTP',
  136: 'UDPLite',
  137: 'MPLS-in-IP',
  143: 'Ethernet',
  255: 'RAW',
};
/** Protocols whose header starts with 16-bit source and destination ports (the BPF side reads ports only for these). */
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);

export function ipProtocolName(n: number): string {
  return IP_PROTOCOLS[n] ?? String(n);
}

export function ethertypeName(n: number): string {
  if (n === 0x0800) return 'IPv4';
  if (n === 0x86dd) return 'IPv6';
  if (n === 0x0806) return 'ARP';
  return `0x${n.toString(16).padStart(4, '0')}`;
}

interface Open {
  event: SkbDropEvent;
  /** ksym(location): the function name; completed with the offset from the matching stack frame. */
  locationSym: string;
}

const LOST_RE = /^Lost (\d+) events$/;

function err(errorType: ParseErrorType, message: string): ParseResult {
  return { kind: 'error', errorType, message };
}

export function createSkbDropParser(clock: Clock, reasons: ReadonlyMap<number, string>): ProbeParser {
  let open: Open | undefined;
  /** Skipping the rest of a record that was rejected (bad header, too many frames) up to its end marker. */
  let aborted = false;

  const close = (o: Open): SkbDropEvent => {
    const ev = o.event;
    // location is the return address into the freeing function, which is also
    // that function's frame in the stack: take its "+offset" from there.
    const prefix = `${o.locationSym}+`;
    const frame = ev.stack.find((s) => s.startsWith(prefix));
    ev.location = frame ?? o.locationSym;
    return ev;
  };

  const f = new TabFields(13);
  // comms, stack frames and drop locations repeat: one string per value (see Interner)
  const names = new Interner(8192);
  // stack frame lines, looked up as read (indented): trimmed once per distinct frame
  const frames = new Interner(8192, (line) => line.trim());

  const header = (): Open | ParseResult => {
    if (f.count !== 13) return err('field_count', `D record with ${f.count} fields`);
    const nsecs = f.u64(1);
    const pid = f.uint(2);
    const tid = f.uint(3);
    const cgroupId = f.uint(4);
    const reason = f.uint(6);
    const ethertype = f.uint(7);
    if (
      nsecs === undefined ||
      Number.isNaN(pid) ||
      Number.isNaN(tid) ||
      Number.isNaN(cgroupId) ||
      Number.isNaN(reason) ||
      !(ethertype <= 0xffff)
    ) {
      return err('bad_number', 'D record numeric field');
    }
    const comm = f.comm(5);
    if (comm === undefined) return err('bad_value', 'D record comm longer than a comm buffer');
    const locationSym = names.get(f.str(8));
    if (locationSym.length === 0 || locationSym.includes(' ')) return err('bad_value', 'D record location');
    const event: SkbDropEvent = {
      type: 'skbdrop',
      timeUnixNano: clock.toUnixNano(nsecs),
      pid,
      tid,
      comm: names.get(comm),
      cgroupId,
      reason: dropReasonName(reasons, reason),
      protocol: ethertypeName(ethertype),
      location: locationSym,
      stack: [],
    };
    const l3 = f.str(9);
    if (l3 === '-') {
      if (!f.is(10, '-') || !f.is(11, '-') || !f.is(12, '-'))
        return err('bad_value', 'D record without L3 but with addresses');
      return { event, locationSym };
    }
    if (l3 !== '4' && l3 !== '6') return err('bad_value', `D record l3 ${l3.slice(0, 8)}`);
    const l4 = f.uint(10);
    if (!(l4 <= 255)) return err('bad_number', 'D record l4 protocol');
    const addrs = decodeHexEscaped(f.str(11), l3 === '4' ? 8 : 32);
    if (addrs === undefined) return err('bad_value', 'D record addresses');
    if (l3 === '4') {
      event.family = 'ipv4';
      event.saddr = formatIPv4(addrs, 0);
      event.daddr = formatIPv4(addrs, 4);
    } else {
      event.family = 'ipv6';
      event.saddr = formatIPv6(addrs, 0);
      event.daddr = formatIPv6(addrs, 16);
    }
    event.l4Protocol = ipProtocolName(l4);
    if (!f.is(12, '-')) {
      const w = f.uint(12);
      if (!(w <= 0xffffffff)) return err('bad_number', 'D record ports');
      if (!PORT_PROTOCOLS.has(l4)) return err('bad_value', 'D record ports for a protocol without ports');
      event.sport = ((w & 0xff) << 8) | ((w >>> 8) & 0xff);
      event.dport = (((w >>> 16) & 0xff) << 8) | (w >>> 24);
    }
    return { event, locationSym };
  };

  return {
    push(line: string): ParseResult {
      if (line.length > MAX_LINE_LENGTH) return err('too_long', `line of ${line.length} characters`);
      if (line.length === 0) return PARSE_NONE;
      const c0 = line.charCodeAt(0);
      if (c0 === 0x20 || c0 === 0x09) {
        // A stack frame.
        if (open === undefined) {
          if (aborted) return PARSE_NONE;
          return err('orphan', 'stack frame outside a record');
        }
        if (open.event.stack.length >= MAX_FRAMES) {
          open = undefined;
          aborted = true;
          return err('field_count', `stack deeper than ${MAX_FRAMES} frames`);
        }
        open.event.stack.push(frames.get(line));
        return PARSE_NONE;
      }
      if (line === 'E') {
        if (open === undefined) {
          if (aborted) {
            aborted = false;
            return PARSE_NONE;
          }
          return err('orphan', 'end marker outside a record');
        }
        const ev = close(open);
        open = undefined;
        return { kind: 'event', event: ev };
      }
      if (c0 === 0x44 /* D */ && line.charCodeAt(1) === 0x09) {
        aborted = false;
        const wasOpen = open !== undefined;
        open = undefined;
        f.split(line);
        const h = header();
        if ('kind' in h) {
          // Skip this record's frames and end marker quietly: one error per broken record.
          aborted = true;
          return h;
        }
        open = h;
        return wasOpen ? err('field_count', 'record without end marker') : PARSE_NONE;
      }
      if (line.startsWith('Attaching ')) return PARSE_NONE;
      const lost = LOST_RE.exec(line);
      if (lost) return { kind: 'lost', count: Number(lost[1]) };
      return err('unknown_tag', `unexpected line: ${line.slice(0, 40)}`);
    },
    flush(): ParseResult {
      aborted = false;
      if (open === undefined) return PARSE_NONE;
      const ev = close(open);
      open = undefined;
      return { kind: 'event', event: ev };
    },
  };
}
