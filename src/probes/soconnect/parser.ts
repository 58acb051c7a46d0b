/**
 * Parser for probes/soconnect/soconnect.bt output.
 *
 * Line (tab-separated, 14 fields):
 *   connect nsecs pid tid cgroup comm af saddr sport daddr dport errno latency_ns nonblocking
 */
import type { SoConnectEvent } from '../../core/event.js';
import { PARSE_NONE, type Clock, type ParseResult, type ProbeParser } from '../../core/parser.js';
import { errnoName } from '../../core/decode.js';
import { ConnLineReader, parseError } from '../conn-line.js';

const TAGS = ['connect'];

const FIELDS = 14;

class SoConnectParser implements ProbeParser {
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
    const nb = f.is(13, '1');
    if (!nb && !f.is(13, '0')) return parseError('bad_value', 'nonblocking flag', line);
    // One literal with every key, in the order of the JSON form (see encode.ts).
    const event: SoConnectEvent = {
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
      type: 'soconnect',
      result: errno === 0 ? 'ESTABLISHED' : errnoName(errno),
      latencyNs,
      nonBlocking: nb,
    };
    return { kind: 'event', event };
  }

  flush(): ParseResult {
    return PARSE_NONE;
  }
}

export function createSoConnectParser(clock: Clock): ProbeParser {
  return new SoConnectParser(clock);
}
