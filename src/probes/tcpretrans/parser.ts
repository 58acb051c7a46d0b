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
import { isResult, parseConnLine, parseError } from '../conn-line.js';

export const RETRANS_TAG = 'retrans';
export const SYNACK_TAG = 'synack';
const FIELDS = 12;
const TAGS = [RETRANS_TAG, SYNACK_TAG];

class TcpRetransParser implements ProbeParser {
  constructor(private readonly clock: Clock) {}

  push(line: string): ParseResult {
    const r = parseConnLine(line, TAGS, FIELDS, this.clock);
    if (isResult(r)) return r;
    const { f, base } = r;
    const stateNum = parseUint(f[11]!);
    if (Number.isNaN(stateNum)) return parseError('bad_number', 'state', line);
    const state = tcpStateName(stateNum);
    if (state === undefined) return parseError('bad_value', 'state', line);
    const event: TcpRetransEvent = Object.assign(base, { type: 'tcpretrans' as const, state });
    return { kind: 'event', event };
  }

  flush(): ParseResult {
    return { kind: 'none' };
  }
}

export function createTcpRetransParser(clock: Clock): ProbeParser {
  return new TcpRetransParser(clock);
}
