/**
 * Parser for probes/udpconnect/udpconnect.bt output.
 *
 * Line (tab-separated, 13 fields):
 *   udpconnect nsecs pid tid cgroup comm af saddr sport daddr dport errno latency_ns
 */
import type { UdpConnectEvent } from '../../core/event.js';
import { PARSE_NONE, type Clock, type ParseResult, type ProbeParser } from '../../core/parser.js';
import { errnoName } from '../../core/decode.js';
import { ConnLineReader, parseError } from '../conn-line.js';

export const UDPCONNECT_TAG = 'udpconnect';
const TAGS = [UDPCONNECT_TAG];
const FIELDS = 13;

class UdpConnectParser implements ProbeParser {
  private readonly reader: ConnLineReader;

  constructor(clock: Clock) {
    this.reader = new ConnLineReader(TAGS, FIELDS, clock);
  }

  push(line: string): ParseResult {
    const bad = this.reader.parse(line);
    if (bad !== undefined) return bad;
    const { fields: f, base } = this.reader;
    const errno = f.uint(11);
    const latencyNs = f.uint(12);
    if (Number.isNaN(errno) || Number.isNaN(latencyNs)) return parseError('bad_number', 'errno/latency', line);
    const event: UdpConnectEvent = {
      timeUnixNano: base.timeUnixNano,
      pid: base.pid,
      tid: base.tid,
      comm: base.comm,
      cgroupId: base.cgroupId,
      family: base.family,
      saddr: base.saddr,
      sport: base.sport,
      daddr: base.daddr,
      dport: base.dport,
      type: 'udpconnect',
      result: errno === 0 ? 'OK' : errnoName(errno),
      latencyNs,
    };
    return { kind: 'event', event };
  }

  flush(): ParseResult {
    return PARSE_NONE;
  }
}

export function createUdpConnectParser(clock: Clock): ProbeParser {
  return new UdpConnectParser(clock);
}
