/** Fixed events for the Kafka exporter's tests (exact values are asserted). */
import type {
  GetHostLatencyEvent,
  SkbDropEvent,
  SoConnectEvent,
  TcpRetransEvent,
  UdpConnectEvent,
} from '../../core/event.js';

/** 2025-11-13T02:13:20.123456789Z */
export const T0 = 1_763_000_000_123_456_789n;

export function soconnect(over: Partial<SoConnectEvent> = {}): SoConnectEvent {
  return {
    type: 'soconnect',
    timeUnixNano: T0,
    pid: 4711,
    tid: 4712,
    comm: 'curl',
    cgroupId: 9876,
    family: 'ipv4',
    saddr: '10.0.0.1',
    sport: 40000,
    daddr: '10.0.0.2',
    dport: 443,
    result: 'ESTABLISHED',
    latencyNs: 120_000,
    nonBlocking: true,
    ...over,
  };
}

export function tcpretrans(over: Partial<TcpRetransEvent> = {}): TcpRetransEvent {
  return {
    type: 'tcpretrans',
    timeUnixNano: T0 + 1n,
    pid: 4711,
    tid: 4712,
    comm: 'curl',
    cgroupId: 9876,
    family: 'ipv4',
    saddr: '10.0.0.1',
    sport: 40000,
    daddr: '10.0.0.2',
    dport: 443,
    state: 'ESTABLISHED',
    kind: 'fast',
    ...over,
  };
}

export function udpconnect(over: Partial<UdpConnectEvent> = {}): UdpConnectEvent {
  return {
    type: 'udpconnect',
    timeUnixNano: T0 + 2n,
    pid: 300,
    tid: 300,
    comm: 'dig',
    cgroupId: 0,
    family: 'ipv6',
    saddr: 'fd00::1',
    sport: 5353,
    daddr: 'fd00::53',
    dport: 53,
    result: 'OK',
    latencyNs: 5_000,
    ...over,
  };
}

export function gethostlatency(over: Partial<GetHostLatencyEvent> = {}): GetHostLatencyEvent {
  return {
    type: 'gethostlatency',
    timeUnixNano: T0 + 3n,
    pid: 301,
    tid: 302,
    comm: 'python3',
    cgroupId: 0,
    func: 'getaddrinfo',
    host: 'example.internal',
    latencyNs: 2_500_000,
    result: 'OK',
    addresses: ['10.1.2.3', 'fd00::3'],
    ...over,
  };
}

export function skbdrop(over: Partial<SkbDropEvent> = {}): SkbDropEvent {
  return {
    type: 'skbdrop',
    timeUnixNano: T0 + 4n,
    pid: 0,
    tid: 0,
    comm: 'swapper/0',
    cgroupId: 0,
    reason: 'NETFILTER_DROP',
    protocol: 'IPv4',
    location: 'nf_hook_slow+0x97',
    stack: ['kfree_skb_reason+0x1', 'nf_hook_slow+0x97'],
    family: 'ipv4',
    saddr: '10.0.0.2',
    daddr: '10.0.0.1',
    l4Protocol: 'TCP',
    sport: 443,
    dport: 40000,
    ...over,
  };
}
