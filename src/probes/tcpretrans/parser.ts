/**
 * Parser for probes/tcpretrans/tcpretrans.bt output.
 *
 * Lines (tab-separated, 12 fields):
 *   retrans nsecs pid tid cgroup comm af saddr sport daddr dport state
 *   synack  nsecs pid tid cgroup comm af saddr sport daddr dport state
 * Both become a TcpRetransEvent; state is the kernel TCP state number.
 */
import type { TcpRetransEvent } from '../../core/event.js';
import type { Clock, ParseResult, ProbeParser } from '../../core/parser.js';
import { parseUint, tcpStateName } from '../../core/decode.js';
import { isResult, nonRecord, parseCommon, parseEndpoints, parseError } from '../soconnect/parser.js';

export const RETRANS_TAG = 'retrans';
export const SYNACK_TAG = 'synack';
const FIELDS = 12;

class TcpRetransParser implements ProbeParser {
  constructor(private readonly clock: Clock) {}

  push(line: string): ParseResult {
    const special = nonRecord(line);
    if (special !== undefined) return special;
    const f = line.split('\t');
    const tag = f[0];
    if (tag !== RETRANS_TAG && tag !== SYNACK_TAG) return parseError('unknown_tag', 'unexpected line', line);
    if (f.length !== FIELDS) return parseError('field_count', `expected ${FIELDS} fields, got ${f.length}`, line);
    const common = parseCommon(f, this.clock, line);
    if (isResult(common)) return common;
    const ep = parseEndpoints(f, 6, line);
    if (isResult(ep)) return ep;
    const stateNum = parseUint(f[11]!);
    if (Number.isNaN(stateNum)) return parseError('bad_number', 'state', line);
    const state = tcpStateName(stateNum);
    if (state === undefined) return parseError('bad_value', 'state', line);
    const event: TcpRetransEvent = {
      type: 'tcpretrans',
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
      state,
    };
    return { kind: 'event', event };
  }

  flush(): ParseResult {
    return { kind: 'none' };
  }
}

export function createTcpRetransParser(clock: Clock): ProbeParser {
  return new TcpRetransParser(clock);
}
