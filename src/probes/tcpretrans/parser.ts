/**
 * Parser for probes/tcpretrans/tcpretrans.bt output.
 *
 * Lines (tab-separated, 14 fields):
 *   retrans nsecs pid tid cgroup comm af saddr sport daddr dport state ca pending
 *   synack  nsecs pid tid cgroup comm af saddr sport daddr dport state 0 0
 * Both become a TcpRetransEvent; state is the kernel TCP state number, ca the
 * socket's icsk_ca_state and pending its icsk_pending (retransmitKind()).
 */
import type { RetransmitKind, TcpRetransEvent } from '../../core/event.js';
import { PARSE_NONE, type Clock, type ParseResult, type ProbeParser } from '../../core/parser.js';
import { tcpStateName } from '../../core/decode.js';
import { ConnLineReader, parseError } from '../conn-line.js';

export const RETRANS_TAG = 'retrans';
export const SYNACK_TAG = 'synack';
const FIELDS = 14;

// include/net/tcp.h enum tcp_ca_state, include/net/inet_connection_sock.h ICSK_TIME_*
const TCP_CA_RECOVERY = 3;
const TCP_CA_LOSS = 4;
const ICSK_TIME_LOSS_PROBE = 5;

/**
 * The kind of a tcp_retransmit_skb retransmit from the socket's congestion
 * state and pending timer at that moment: tcp_write_timer_handler() clears
 * icsk_pending before tcp_retransmit_timer(), which enters Loss and resends
 * (also SYNs): Loss without a timer is the RTO itself, Loss with one armed a
 * resend in loss recovery (on an ACK, or tcp_simple_retransmit() after a path
 * MTU reduction); fast retransmit and RACK resend in Recovery;
 * tcp_send_loss_probe() runs from the probe timer in Open / Disorder / CWR.
 * A state this code does not know (a future kernel) is `other`, not an error.
 * Checked live against the kernel (live.test.ts).
 */
export function retransmitKind(ca: number, pending: number): RetransmitKind {
  if (ca === TCP_CA_LOSS) return pending === 0 ? 'rto' : 'loss';
  if (ca === TCP_CA_RECOVERY) return 'fast';
  if (ca > TCP_CA_LOSS) return 'other';
  return pending === ICSK_TIME_LOSS_PROBE ? 'tlp' : 'other';
}
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
    let kind: RetransmitKind = 'synack';
    if (f.is(0, RETRANS_TAG)) {
      const ca = f.uint(12);
      const pending = f.uint(13);
      if (Number.isNaN(ca) || Number.isNaN(pending)) return parseError('bad_number', 'ca state/pending timer', line);
      kind = retransmitKind(ca, pending);
    }
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
      kind,
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
