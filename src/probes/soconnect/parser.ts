/**
 * Parser for probes/soconnect/soconnect.bt output.
 *
 * Line (tab-separated, 14 fields):
 *   connect nsecs pid tid cgroup comm af saddr sport daddr dport errno latency_ns nonblocking
 */
import type { SoConnectEvent } from '../../core/event.js';
import type { Clock, ParseResult, ProbeParser } from '../../core/parser.js';
import { errnoName, parseUint } from '../../core/decode.js';
import { isResult, parseConnLine, parseError } from '../conn-line.js';

const TAGS = ['connect'];

const FIELDS = 14;

class SoConnectParser implements ProbeParser {
  constructor(private readonly clock: Clock) {}

  push(line: string): ParseResult {
    const r = parseConnLine(line, TAGS, FIELDS, this.clock);
    if (isResult(r)) return r;
    const { f, base } = r;
    const errno = parseUint(f[11]!);
    const latencyNs = parseUint(f[12]!);
    if (Number.isNaN(errno) || Number.isNaN(latencyNs)) return parseError('bad_number', 'errno/latency', line);
    const nb = f[13];
    if (nb !== '0' && nb !== '1') return parseError('bad_value', 'nonblocking flag', line);
    const event: SoConnectEvent = Object.assign(base, {
      type: 'soconnect' as const,
      result: errno === 0 ? 'ESTABLISHED' : errnoName(errno),
      latencyNs,
      nonBlocking: nb === '1',
    });
    return { kind: 'event', event };
  }

  flush(): ParseResult {
    return { kind: 'none' };
  }
}

export function createSoConnectParser(clock: Clock): ProbeParser {
  return new SoConnectParser(clock);
}
