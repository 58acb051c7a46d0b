/** Tiny factories for events in unit tests. */
import type { NetEvent, SoConnectEvent } from '../../src/core/event.js';

let seq = 0;

export function connectEvent(over: Partial<SoConnectEvent> = {}): SoConnectEvent {
  seq++;
  return {
    type: 'soconnect',
    timeUnixNano: 1_763_000_000_000_000_000n + BigInt(seq),
    pid: 4711,
    tid: 4711,
    comm: 'curl',
    cgroupId: 1,
    family: 'ipv4',
    saddr: '127.0.0.1',
    sport: 40000 + (seq % 1000),
    daddr: '127.0.0.1',
    dport: 8080,
    result: 'ESTABLISHED',
    latencyNs: 120_000,
    nonBlocking: true,
    ...over,
  };
}

export function events(n: number): NetEvent[] {
  return Array.from({ length: n }, () => connectEvent());
}
