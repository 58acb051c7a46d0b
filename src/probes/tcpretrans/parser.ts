/**
 * Parser for probes/tcpretrans/tcpretrans.bt output.
 *
 * Lines (tab-separated, 12 fields):
 *   retrans nsecs pid tid cgroup comm af saddr sport daddr dport state
 *   synack  nsecs pid tid cgroup comm af saddr sport daddr dport state
 * Both become a TcpRetransEvent; state is the kernel TCP state number.
 */
import type { TcpRetransEvent } from '../../core/event.js';
import { PARSE_NONE, type Clock, type ParseResult, type ProbeParser } from '../../core/parser.js';
import { tcpStateName } from '../../core/decode.js';
import { ConnLineReader, parseError } from '../conn-line.js';

export const RETRANS_TAG = 'retrans';
export const SYNACK_TAG = 'synack';
const FIELDS = 12;
const TAGS = [RETRANS_TAG, SYNACK_TAG];

class TcpRetransParser implements ProbeParser {
  private readonly reader: ConnLineReader;

  constructor(clock: Clock) {
    this.reader = new ConnLineReader(TAGS, FIELDS, clock);
  }

  push(line: string): ParseResult {
    const bad = this.reader.parse(line);
    if (bad !== undefined) return bad;
    const { fields: f, base } = this.reader;
    const stateNum = f.uint(11);
    if (Number.isNaN(stateNum)) return parseError('bad_number', 'state', line);
    const state = tcpStateName(stateNum);
    if (state === undefined) return parseError('bad_value', 'state', line);
    const event: TcpRetransEvent = {
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
      type: 'tcpretrans',
      state,
    };
    return { kind: 'event', event };
  }

  flush(): ParseResult {
    return PARSE_NONE;
  }
}

export function createTcpRetransParser(clock: Clock): ProbeParser {
  return new TcpRetransParser(clock);
}
