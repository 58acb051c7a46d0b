/**
 * The line layout shared by the soconnect, udpconnect and tcpretrans probes:
 *   <tag> nsecs pid tid cgroup comm af saddr sport daddr dport <type-specific...>
 * (tab-separated). Helpers to recognise bpftrace's non-record lines, parse the
 * common prefix and the endpoints, and report errors with a bounded type.
 */
import type { AddressFamily } from '../core/event.js';
import { MAX_LINE_LENGTH } from '../core/parser.js';
import type { Clock, ParseErrorType, ParseResult } from '../core/parser.js';
import { decodeComm, familyName, parseU64, parseUint } from '../core/decode.js';

const MAX_ADDR_TEXT = 45; // longest textual IPv6 address (with embedded IPv4)
const SNIPPET = 120;

const NONE: ParseResult = { kind: 'none' };

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
  if (line.trim().length === 0) return NONE;
  return undefined;
}

/** The fields every record carries after its tag. */
export interface CommonFields {
  timeUnixNano: bigint;
  pid: number;
  tid: number;
  cgroupId: number;
  comm: string;
}

/** parseU64, faster for values below 10^15 (BigInt from a number, not from a string). */
function parseBigU64(text: string): bigint | undefined {
  if (text.length <= 15) {
    const n = parseUint(text);
    return Number.isNaN(n) ? undefined : BigInt(n);
  }
  return parseU64(text);
}

/** Parses f[1..5] (nsecs pid tid cgroup comm); returns an error result on failure. */
export function parseCommon(f: string[], clock: Clock, line: string): CommonFields | ParseResult {
  const ns = parseBigU64(f[1]!);
  if (ns === undefined) return parseError('bad_number', 'nsecs', line);
  const pid = parseUint(f[2]!);
  const tid = parseUint(f[3]!);
  if (Number.isNaN(pid) || Number.isNaN(tid) || pid > 0xffffffff || tid > 0xffffffff)
    return parseError('bad_number', 'pid/tid', line);
  const cgText = f[4]!;
  let cg = cgText.length <= 15 ? parseUint(cgText) : NaN;
  if (Number.isNaN(cg)) {
    const big = parseU64(cgText);
    if (big === undefined || big > BigInt(Number.MAX_SAFE_INTEGER)) return parseError('bad_number', 'cgroup id', line);
    cg = Number(big);
  }
  const commText = f[5]!;
  const comm = decodeComm(commText);
  if (comm === undefined) return parseError('bad_value', 'comm', line);
  return { timeUnixNano: clock.toUnixNano(ns), pid, tid, cgroupId: cg, comm };
}

export interface Endpoints {
  family: AddressFamily;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
}

function addrOk(text: string, family: AddressFamily): boolean {
  if (text.length === 0 || text.length > MAX_ADDR_TEXT) return false;
  if (family === 'ipv4') return text.indexOf(':') < 0 && text.indexOf('.') > 0;
  return text.indexOf(':') >= 0;
}

/** Parses f[i..i+4] (af saddr sport daddr dport). */
export function parseEndpoints(f: string[], i: number, line: string): Endpoints | ParseResult {
  const af = parseUint(f[i]!);
  if (Number.isNaN(af)) return parseError('bad_number', 'address family', line);
  const family = familyName(af);
  if (family === undefined) return parseError('bad_value', 'address family', line);
  const saddr = f[i + 1]!;
  const daddr = f[i + 3]!;
  if (!addrOk(saddr, family) || !addrOk(daddr, family)) return parseError('bad_value', 'address', line);
  const sport = parseUint(f[i + 2]!);
  const dport = parseUint(f[i + 4]!);
  if (Number.isNaN(sport) || Number.isNaN(dport)) return parseError('bad_number', 'port', line);
  if (sport > 65535 || dport > 65535) return parseError('bad_value', 'port', line);
  return { family, saddr, sport, daddr, dport };
}

export function isResult(x: object): x is ParseResult {
  return 'kind' in x;
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
 * Splits a record line with one of these tags and this field count and parses its common
 * prefix and endpoints. Returns the fields (for the type-specific rest) and
 * the base event fields, or the ParseResult for a non-record or bad line.
 */
export function parseConnLine(
  line: string,
  tags: readonly string[],
  fields: number,
  clock: Clock,
): { f: string[]; base: ConnBase } | ParseResult {
  const special = nonRecord(line);
  if (special !== undefined) return special;
  const f = line.split('\t');
  if (!tags.includes(f[0]!)) return parseError('unknown_tag', 'unexpected line', line);
  if (f.length !== fields) return parseError('field_count', `expected ${fields} fields, got ${f.length}`, line);
  const common = parseCommon(f, clock, line);
  if (isResult(common)) return common;
  const ep = parseEndpoints(f, 6, line);
  if (isResult(ep)) return ep;
  const base: ConnBase = {
    timeUnixNano: common.timeUnixNano,
    pid: common.pid,
    tid: common.tid,
    comm: common.comm,
    cgroupId: common.cgroupId,
    family: ep.family,
    saddr: ep.saddr,
    sport: ep.sport,
    daddr: ep.daddr,
    dport: ep.dport,
  };
  return { f, base };
}
