/**
 * Remembers which host name a process (or pod) just resolved to which
 * addresses, so a following connect to one of them can be named. Keys are
 * "p<pid>|<address>" and "u<pod uid>|<address>"; entries expire `windowNs`
 * after the lookup completed (event time, so replays behave the same) and
 * the map is a bounded LRU.
 */
import { Lru } from './lru.js';

interface DnsEntry {
  host: string;
  /** Lookup start (event time). */
  startNs: bigint;
  /** Lookup completion + window. */
  expiresNs: bigint;
}

/** Tolerated clock skew between probes (each bpftrace process converts its own monotonic timestamps). */
const SKEW_NS = 1_000_000_000n;

/** Where the IPv4 part of an IPv4-mapped IPv6 address ("::ffff:10.0.0.1") starts, else 0. */
export function mappedOffset(a: string): number {
  return a.length > 7 && a.startsWith('::ffff:') && a.includes('.') ? 7 : 0;
}

/** "::ffff:10.0.0.1" → "10.0.0.1": a v6 socket connecting to a v4 address. */
export function normalizeAddress(a: string): string {
  const o = mappedOffset(a);
  return o === 0 ? a : a.slice(o);
}

export class DnsCache {
  private readonly map: Lru<string, DnsEntry>;
  private readonly windowNs: bigint;

  constructor(maxEntries: number, windowMs: number) {
    this.map = new Lru(maxEntries);
    this.windowNs = BigInt(windowMs) * 1_000_000n;
  }

  get size(): number {
    return this.map.size;
  }

  record(
    pid: number,
    podUid: string | undefined,
    host: string,
    addresses: readonly string[],
    startNs: bigint,
    latencyNs: number,
    maxAddresses = 32,
  ): void {
    const e: DnsEntry = { host, startNs, expiresNs: startNs + BigInt(latencyNs) + this.windowNs };
    for (let i = 0; i < addresses.length && i < maxAddresses; i++) {
      const a = normalizeAddress(addresses[i]!);
      if (pid > 0) this.map.set(`p${pid}|${a}`, e);
      if (podUid !== undefined) this.map.set(`u${podUid}|${a}`, e);
    }
  }

  lookup(pid: number, podUid: string | undefined, address: string, atNs: bigint): string | undefined {
    const a = normalizeAddress(address);
    return (
      this.valid(pid > 0 ? this.map.get(`p${pid}|${a}`) : undefined, atNs) ??
      (podUid !== undefined ? this.valid(this.map.get(`u${podUid}|${a}`), atNs) : undefined)
    );
  }

  private valid(e: DnsEntry | undefined, atNs: bigint): string | undefined {
    if (!e) return undefined;
    return atNs <= e.expiresNs && atNs + SKEW_NS >= e.startNs ? e.host : undefined;
  }
}
