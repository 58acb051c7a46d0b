/** Small synthetic events of every type for the OTLP exporter tests. */
import type {
  GetHostLatencyEvent,
  SkbDropEvent,
  SoConnectEvent,
  TcpRetransEvent,
  UdpConnectEvent,
} from '../../src/core/event.js';

/** A fixed kernel-derived wall-clock base (ns) with sub-microsecond digits, so rounding would show. */
export const T0 = 1_763_000_000_123_456_789n;
export const ms = (n: number): bigint => BigInt(Math.round(n * 1_000_000));

/**
 * Enrichment attributes of a connect's pod, two of them named like the
 * event's own attributes (error.type, network.peer.address): their values
 * must replace the event's in place, not be given twice.
 */
export const OVERLAPPING_ENRICHMENT = {
  'server.address': 'db.local',
  'error.type': 'policy',
  'network.peer.address': '10.9.9.9',
  'k8s.pod.uid': 'uid-2',
  'k8s.pod.name': 'db-0',
} as const;

const base = { pid: 100, tid: 100, comm: 'curl', cgroupId: 7 };

export function dns(over: Partial<GetHostLatencyEvent> = {}): GetHostLatencyEvent {
  return {
    type: 'gethostlatency',
    timeUnixNano: T0,
    ...base,
    func: 'getaddrinfo',
    host: 'api.example.com',
    latencyNs: 2_000_000,
    result: 'OK',
    addresses: ['10.0.0.5', '2001:db8::5'],
    ...over,
  };
}

export function connect(over: Partial<SoConnectEvent> = {}): SoConnectEvent {
  return {
    type: 'soconnect',
    timeUnixNano: T0 + ms(3),
    ...base,
    family: 'ipv4',
    saddr: '10.0.0.1',
    sport: 40001,
    daddr: '10.0.0.5',
    dport: 443,
    result: 'ESTABLISHED',
    latencyNs: 1_500_000,
    nonBlocking: true,
    ...over,
  };
}

export function udp(over: Partial<UdpConnectEvent> = {}): UdpConnectEvent {
  return {
    type: 'udpconnect',
    timeUnixNano: T0 + ms(10),
    ...base,
    family: 'ipv4',
    saddr: '10.0.0.1',
    sport: 50000,
    daddr: '10.0.0.53',
    dport: 53,
    result: 'OK',
    latencyNs: 10_000,
    ...over,
  };
}

export function retrans(over: Partial<TcpRetransEvent> = {}): TcpRetransEvent {
  return {
    type: 'tcpretrans',
    timeUnixNano: T0 + ms(1000),
    ...base,
    pid: 0,
    tid: 0,
    comm: 'swapper/0',
    cgroupId: 0,
    family: 'ipv4',
    saddr: '10.0.0.1',
    sport: 40010,
    daddr: '10.0.0.7',
    dport: 443,
    state: 'SYN_SENT',
    kind: 'rto',
    ...over,
  };
}

export function drop(over: Partial<SkbDropEvent> = {}): SkbDropEvent {
  return {
    type: 'skbdrop',
    timeUnixNano: T0 + ms(20),
    ...base,
    reason: 'NETFILTER_DROP',
    protocol: 'IPv4',
    location: 'nf_hook_slow+0x99',
    stack: ['kfree_skb_reason+0x1', 'nf_hook_slow+0x99'],
    family: 'ipv4',
    saddr: '10.0.0.7',
    daddr: '10.0.0.1',
    l4Protocol: 'TCP',
    sport: 443,
    dport: 40010,
    ...over,
  };
}
