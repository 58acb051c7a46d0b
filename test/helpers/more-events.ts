/** More event factories for processor tests (one per event type), and a processor context. */
import type {
  GetHostLatencyEvent,
  NetEvent,
  SkbDropEvent,
  SoConnectEvent,
  TcpRetransEvent,
  UdpConnectEvent,
} from '../../src/core/event.js';
import type { ComponentContext } from '../../src/pipeline/component.js';
import { silentLogger } from '../../src/telemetry/log.js';
import { testTelemetry } from './telemetry.js';

let seq = 0;

function time(): bigint {
  seq++;
  return 1_763_000_000_000_000_000n + BigInt(seq) * 1000n;
}

// Each factory writes an object literal (in the parsers' field order) and then
// applies overrides with Object.assign: objects built by spreading stay on
// slow, per-object shapes in V8, which would distort the benchmark.

export function soconnect(over: Partial<SoConnectEvent> = {}): SoConnectEvent {
  const e: SoConnectEvent = {
    type: 'soconnect',
    timeUnixNano: time(),
    pid: 4711,
    tid: 4711,
    comm: 'curl',
    cgroupId: 1,
    family: 'ipv4',
    saddr: '10.0.0.5',
    sport: 40000,
    daddr: '10.96.0.20',
    dport: 443,
    result: 'ESTABLISHED',
    latencyNs: 120_000,
    nonBlocking: true,
  };
  return Object.assign(e, over);
}

export function udpconnect(over: Partial<UdpConnectEvent> = {}): UdpConnectEvent {
  const e: UdpConnectEvent = {
    type: 'udpconnect',
    timeUnixNano: time(),
    pid: 4711,
    tid: 4711,
    comm: 'curl',
    cgroupId: 1,
    family: 'ipv4',
    saddr: '10.0.0.5',
    sport: 50000,
    daddr: '10.96.0.10',
    dport: 53,
    result: 'OK',
    latencyNs: 20_000,
  };
  return Object.assign(e, over);
}

/** Retransmits fire in softirq context: pid 0, comm swapper/N, by default. */
export function tcpretrans(over: Partial<TcpRetransEvent> = {}): TcpRetransEvent {
  const e: TcpRetransEvent = {
    type: 'tcpretrans',
    timeUnixNano: time(),
    pid: 0,
    tid: 0,
    comm: 'swapper/3',
    cgroupId: 0,
    family: 'ipv4',
    saddr: '10.0.0.5',
    sport: 40000,
    daddr: '10.96.0.20',
    dport: 443,
    state: 'SYN_SENT',
    kind: 'rto',
  };
  return Object.assign(e, over);
}

export function gethostlatency(over: Partial<GetHostLatencyEvent> = {}): GetHostLatencyEvent {
  const e: GetHostLatencyEvent = {
    type: 'gethostlatency',
    timeUnixNano: time(),
    pid: 4711,
    tid: 4711,
    comm: 'curl',
    cgroupId: 1,
    func: 'getaddrinfo',
    host: 'api.example.com',
    latencyNs: 2_000_000,
    result: 'OK',
    addresses: ['10.96.0.20'],
  };
  return Object.assign(e, over);
}

/** Drops are usually seen in softirq context too. Pass undefined for fields a non-IP packet lacks. */
export function skbdrop(over: Partial<SkbDropEvent> = {}): SkbDropEvent {
  const e: SkbDropEvent = {
    type: 'skbdrop',
    timeUnixNano: time(),
    pid: 0,
    tid: 0,
    comm: 'swapper/1',
    cgroupId: 0,
    reason: 'NETFILTER_DROP',
    protocol: 'IPv4',
    location: 'nf_hook_slow+0x9c',
    stack: ['nf_hook_slow+0x9c', 'ip_output+0x6e'],
    family: 'ipv4',
    saddr: '10.0.0.5',
    daddr: '10.96.0.20',
    l4Protocol: 'TCP',
    sport: 40000,
    dport: 443,
  };
  return Object.assign(e, over);
}

/** Kubernetes identity as enrichment would add it. */
export function k8s(ns: string, pod: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'k8s.namespace.name': ns, 'k8s.pod.name': pod, 'k8s.pod.uid': `uid-${ns}-${pod}`, ...extra };
}

/** A deep-frozen copy, so a processor mutating its input throws in tests. */
export function frozen<T extends NetEvent>(e: T): T {
  if (e.attributes) {
    for (const v of Object.values(e.attributes)) if (Array.isArray(v)) Object.freeze(v);
    Object.freeze(e.attributes);
  }
  if (e.type === 'gethostlatency') Object.freeze(e.addresses);
  if (e.type === 'skbdrop') Object.freeze(e.stack);
  return Object.freeze(e);
}

/** A ComponentContext for creating processors in tests. */
export function processorContext(id: string, env: Record<string, string | undefined> = {}): ComponentContext {
  return { id, telemetry: testTelemetry(), logger: silentLogger(), env };
}

/** netspan_events_discarded_total for one component and reason. */
export function discardedCount(ctx: ComponentContext, reason: 'filtered' | 'sampled_out' | 'rate_limited'): number {
  return ctx.telemetry.eventsDiscarded.get({ component: ctx.id, reason });
}
