/**
 * The typed event model. Every probe produces one of these; every later stage
 * (processors, enrichment, exporters) works on them. The JSON form written by
 * the stdout and Kafka exporters is exactly `toJSON(event)` (see encode.ts) and
 * is described by the JSON Schemas in `schema/events/`.
 *
 * Times: `timeUnixNano` is wall-clock nanoseconds, converted from the kernel's
 * monotonic clock (bpftrace `nsecs`) at parse time. Durations are nanoseconds.
 */

export const EVENT_TYPES = ['soconnect', 'tcpretrans', 'gethostlatency', 'skbdrop', 'udpconnect'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * The probes whose pid/tid/comm are the task that made the event (a syscall
 * or libc call). tcpretrans and skbdrop fire mostly in softirq/timer context,
 * where they are whatever task the CPU was running.
 */
export const TASK_CONTEXT_TYPES = ['soconnect', 'udpconnect', 'gethostlatency'] as const satisfies readonly EventType[];
const TASK_CONTEXT: ReadonlySet<EventType> = new Set(TASK_CONTEXT_TYPES);
export const inTaskContext = (type: EventType): boolean => TASK_CONTEXT.has(type);

export const SCHEMA_VERSION = 1;

export type AddressFamily = 'ipv4' | 'ipv6';

/** Fields every event carries, whatever the probe. */
export interface EventBase {
  /** Wall-clock time of the event (for events with a duration: its start), ns since the epoch. */
  timeUnixNano: bigint;
  /** Thread-group id (user-space "pid") of the task the kernel attributed the event to. */
  pid: number;
  /** Thread id. */
  tid: number;
  /** Task command name (comm, at most 15 bytes), decoded from the kernel's bytes. */
  comm: string;
  /** cgroup v2 id (inode number of the task's cgroup directory); 0 when unknown. */
  cgroupId: number;
  /** Filled by enrichment stages; flat OpenTelemetry semantic-convention attribute names. */
  attributes?: Record<string, string | number | boolean | string[]>;
}

export interface SoConnectEvent extends EventBase {
  type: 'soconnect';
  family: AddressFamily;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  /** "ESTABLISHED" when the handshake completed, otherwise the errno name (ECONNREFUSED, ETIMEDOUT, ...). */
  result: string;
  /**
   * Connect latency: syscall entry to handshake completion (non-blocking, and a TCP Fast Open connect that
   * returned 0 before sending its SYN: then it includes the wait for the first write) or syscall return (blocking).
   */
  latencyNs: number;
  /** True when connect(2) returned EINPROGRESS and the result came from the socket's state change. */
  nonBlocking: boolean;
}

export interface UdpConnectEvent extends EventBase {
  type: 'udpconnect';
  family: AddressFamily;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  /** "OK" or the errno name. */
  result: string;
  latencyNs: number;
}

export interface TcpRetransEvent extends EventBase {
  type: 'tcpretrans';
  family: AddressFamily;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  /** TCP state name at retransmit time, e.g. "SYN_SENT", "ESTABLISHED". */
  state: string;
  /** What made the kernel retransmit (RETRANSMIT_KINDS). */
  kind: RetransmitKind;
}

/**
 * Why a segment was retransmitted, from the socket's congestion state and
 * armed timer at the retransmit: `rto` the retransmission timer fired (SYN
 * retransmits included); `loss` resent in the Loss state without the timer
 * firing: on an ACK in the recovery after an RTO, or at once after a path MTU
 * reduction or a failed MTU probe; `fast` fast retransmit (loss detected from
 * SACKs, duplicate ACKs or RACK); `tlp` a tail loss probe; `synack` a listener
 * resending its SYN-ACK; `other` any other (e.g. a retransmit in the CWR state).
 */
export const RETRANSMIT_KINDS = ['rto', 'loss', 'fast', 'tlp', 'synack', 'other'] as const;
export type RetransmitKind = (typeof RETRANSMIT_KINDS)[number];

export interface GetHostLatencyEvent extends EventBase {
  type: 'gethostlatency';
  /** Resolver function: getaddrinfo, gethostbyname or gethostbyname2. */
  func: string;
  host: string;
  latencyNs: number;
  /** 0 on success; the function's error return otherwise (EAI_* name for getaddrinfo). */
  result: string;
  /** Resolved addresses, deduplicated, in resolver order. */
  addresses: string[];
}

export interface SkbDropEvent extends EventBase {
  type: 'skbdrop';
  /** Kernel drop reason name without the SKB_DROP_REASON_ prefix, e.g. "NETFILTER_DROP", "NO_SOCKET". */
  reason: string;
  /** Ethertype name ("IPv4", "IPv6", "ARP") or hex. */
  protocol: string;
  /** Kernel function that freed the packet (symbol+offset). */
  location: string;
  /** Kernel stack, innermost first, as "symbol+offset". */
  stack: string[];
  /** From the dropped packet's IP header when it has one (IPv4/IPv6); otherwise absent. */
  family?: AddressFamily;
  saddr?: string;
  daddr?: string;
  /** IP protocol name of the packet: "TCP", "UDP", "ICMP", ... */
  l4Protocol?: string;
  sport?: number;
  dport?: number;
}

export type NetEvent = SoConnectEvent | UdpConnectEvent | TcpRetransEvent | GetHostLatencyEvent | SkbDropEvent;
