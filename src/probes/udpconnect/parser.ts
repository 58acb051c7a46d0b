/**
 * Parser for probes/udpconnect/udpconnect.bt output.
 *
 * Line (tab-separated, 13 fields):
 *   udpconnect nsecs pid tid cgroup comm af saddr sport daddr dport errno latency_ns
 */
import type { UdpConnectEvent } from '../../core/event.js';
import type { Clock, ParseResult, ProbeParser } from '../../core/parser.js';
import { errnoName, parseUint } from '../../core/decode.js';
import { isResult, nonRecord, parseCommon, parseEndpoints, parseError } from '../soconnect/parser.js';

export const UDPCONNECT_TAG = 'udpconnect';
const FIELDS = 13;

class UdpConnectParser implements ProbeParser {
  constructor(private readonly clock: Clock) {}

  push(line: string): ParseResult {
    const special = nonRecord(line);
    if (special !== undefined) return special;
    const f = line.split('\t');
    if (f[0] !== UDPCONNECT_TAG) return parseError('unknown_tag', 'unexpected line', line);
    if (f.length !== FIELDS) return parseError('field_count', `expected ${FIELDS} fields, got ${f.length}`, line);
    const common = parseCommon(f, this.clock, line);
    if (isResult(common)) return common;
    const ep = parseEndpoints(f, 6, line);
    if (isResult(ep)) return ep;
    const errno = parseUint(f[11]!);
    const latencyNs = parseUint(f[12]!);
    if (Number.isNaN(errno) || Number.isNaN(latencyNs)) return parseError('bad_number', 'errno/latency', line);
    const event: UdpConnectEvent = {
      type: 'udpconnect',
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
      result: errno === 0 ? 'OK' : errnoName(errno),
      latencyNs,
    };
    return { kind: 'event', event };
  }

  flush(): ParseResult {
    return { kind: 'none' };
  }
}

export function createUdpConnectParser(clock: Clock): ProbeParser {
  return new UdpConnectParser(clock);
}
