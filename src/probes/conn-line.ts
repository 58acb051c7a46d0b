/**
 * The line layout shared by the soconnect, udpconnect and tcpretrans probes:
 *   <tag> nsecs pid tid cgroup comm af saddr sport daddr dport <type-specific...>
 * (tab-separated). Helpers to recognise bpftrace's non-record lines, parse the
 * common prefix and the endpoints, and report errors with a bounded type.
 */
import type { AddressFamily } from '../core/event.js';
import { MAX_LINE_LENGTH, PARSE_NONE } from '../core/parser.js';
import type { Clock, ParseErrorType, ParseResult } from '../core/parser.js';
import { familyName, parseUint } from '../core/decode.js';
import { TabFields } from '../core/fields.js';
import { Interner } from '../core/intern.js';

const MAX_ADDR_TEXT = 45; // longest textual IPv6 address (with embedded IPv4)
const SNIPPET = 120;

const NONE = PARSE_NONE;

export function parseError(errorType: ParseErrorType, what: string, line: string): ParseResult {
  const snippet = line.length > SNIPPET ? `${line.slice(0, SNIPPET)}...` : line;
  return { kind: 'error', errorType, message: `${what}: ${JSON.stringify(snippet)}` };
}

/**
 * Lines that are not events: bpftrace's banner, blank lines (bpftrace prints
 * one per cleared map at exit), "Lost N events", over-long lines. Returns
 * undefined for a line that should be parsed as a record.
 */
export function nonRecord(line: string): ParseResult | undefined {
  if (line.length > MAX_LINE_LENGTH) return parseError('too_long', `line of ${line.length} characters`, line);
  if (line.length === 0) return NONE;
  const c = line.charCodeAt(0);
  if (
    c === 0x41 /* A */ &&
    line.startsWith('Attaching ') &&
    (line.endsWith(' probes...') || line.endsWith(' probe...'))
  )
    return NONE;
  if (c === 0x4c /* L */ && line.startsWith('Lost ') && line.endsWith(' events')) {
    const n = parseUint(line.slice(5, -7));
    if (Number.isNaN(n)) return parseError('bad_number', 'lost-event count', line);
    return { kind: 'lost', count: n };
  }
  if (c > 0x20) return undefined; // starts like a record: not blank
  if (line.trim().length === 0) return NONE;
  return undefined;
}

function addrOk(f: TabFields, i: number, family: AddressFamily): boolean {
  const len = f.length(i);
  if (len === 0 || len > MAX_ADDR_TEXT) return false;
  const line = f.line;
  const s = f.start(i);
  const e = f.end(i);
  const colon = line.indexOf(':', s);
  const hasColon = colon >= 0 && colon < e;
  if (family === 'ipv6') return hasColon;
  const dot = line.indexOf('.', s);
  return !hasColon && dot > s && dot < e;
}

/** A connection record's common prefix and endpoints, as event fields. */
export interface ConnBase {
  timeUnixNano: bigint;
  pid: number;
  tid: number;
  comm: string;
  cgroupId: number;
  family: AddressFamily;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
}

/**
 * Reads one record line of the connection layout. One instance per parser:
 * `fields` keeps the line's tab positions for the type-specific rest, `base`
 * is overwritten by every `parse` (parsers copy it into their event).
 */
export class ConnLineReader {
  readonly fields: TabFields;
  private readonly comms = new Interner();
  readonly base: ConnBase = {
    timeUnixNano: 0n,
    pid: 0,
    tid: 0,
    comm: '',
    cgroupId: 0,
    family: 'ipv4',
    saddr: '',
    sport: 0,
    daddr: '',
    dport: 0,
  };

  /** `tags`: the first field of the lines this probe prints; `count`: their number of fields. */
  constructor(
    private readonly tags: readonly string[],
    private readonly count: number,
    private readonly clock: Clock,
  ) {
    this.fields = new TabFields(count);
  }

  /**
   * Parses the common prefix and endpoints of `line` into `base`; returns
   * undefined on success, else the ParseResult for a non-record or bad line.
   */
  parse(line: string): ParseResult | undefined {
    const special = nonRecord(line);
    if (special !== undefined) return special;
    const f = this.fields;
    const n = f.split(line);
    if (!this.tagOk()) return parseError('unknown_tag', 'unexpected line', line);
    if (n !== this.count) return parseError('field_count', `expected ${this.count} fields, got ${n}`, line);
    const ns = f.u64(1);
    if (ns === undefined) return parseError('bad_number', 'nsecs', line);
    const pid = f.uint(2);
    const tid = f.uint(3);
    if (Number.isNaN(pid) || Number.isNaN(tid) || pid > 0xffffffff || tid > 0xffffffff)
      return parseError('bad_number', 'pid/tid', line);
    let cg = f.length(4) <= 15 ? f.uint(4) : NaN;
    if (Number.isNaN(cg)) {
      const big = f.u64(4);
      if (big === undefined || big > BigInt(Number.MAX_SAFE_INTEGER))
        return parseError('bad_number', 'cgroup id', line);
      cg = Number(big);
    }
    const comm = f.comm(5);
    if (comm === undefined) return parseError('bad_value', 'comm', line);
    const af = f.uint(6);
    if (Number.isNaN(af)) return parseError('bad_number', 'address family', line);
    const family = familyName(af);
    if (family === undefined) return parseError('bad_value', 'address family', line);
    if (!addrOk(f, 7, family) || !addrOk(f, 9, family)) return parseError('bad_value', 'address', line);
    const sport = f.uint(8);
    const dport = f.uint(10);
    if (Number.isNaN(sport) || Number.isNaN(dport)) return parseError('bad_number', 'port', line);
    if (sport > 65535 || dport > 65535) return parseError('bad_value', 'port', line);
    const b = this.base;
    b.timeUnixNano = this.clock.toUnixNano(ns);
    b.pid = pid;
    b.tid = tid;
    b.comm = this.comms.get(comm);
    b.cgroupId = cg;
    b.family = family;
    b.saddr = f.str(7);
    b.sport = sport;
    b.daddr = f.str(9);
    b.dport = dport;
    return undefined;
  }

  private tagOk(): boolean {
    for (const tag of this.tags) if (this.fields.is(0, tag)) return true;
    return false;
  }
}
