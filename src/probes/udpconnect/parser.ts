/**
 * Parser for probes/udpconnect/udpconnect.bt output.
 *
 * Line (tab-separated, 13 fields):
 *   udpconnect nsecs pid tid cgroup comm af saddr sport daddr dport errno latency_ns
 */
import type { UdpConnectEvent } from '../../core/event.js';
import type { Clock, ParseResult, ProbeParser } from '../../core/parser.js';
import { errnoName, parseUint } from '../../core/decode.js';
import { isResult, parseConnLine, parseError } from '../conn-line.js';

export const UDPCONNECT_TAG = 'udpconnect';
const TAGS = [UDPCONNECT_TAG];
const FIELDS = 13;

class UdpConnectParser implements ProbeParser {
  constructor(private readonly clock: Clock) {}

  push(line: string): ParseResult {
    const r = parseConnLine(line, TAGS, FIELDS, this.clock);
    if (isResult(r)) return r;
    const { f, base } = r;
    const errno = parseUint(f[11]!);
    const latencyNs = parseUint(f[12]!);
    if (Number.isNaN(errno) || Number.isNaN(latencyNs)) return parseError('bad_number', 'errno/latency', line);
    const event: UdpConnectEvent = Object.assign(base, {
      type: 'udpconnect' as const,
      result: errno === 0 ? 'OK' : errnoName(errno),
      latencyNs,
    });
    return { kind: 'event', event };
  }

  flush(): ParseResult {
    return { kind: 'none' };
  }
}

export function createUdpConnectParser(clock: Clock): ProbeParser {
  return new UdpConnectParser(clock);
}
