/**
 * The sample processor. Stateless and deterministic: the decision is a hash
 * of a key made of event fields, compared with ratio · 2^32.
 *
 * Why the key is not the pid: tcpretrans (and skbdrop) fire in softirq/timer
 * context, so their pid/comm are those of whatever task happened to run on
 * the CPU (often 0, swapper). A pid-based key would split a connection's
 * retransmits from its connect. The only field a DNS lookup, the connect
 * that used its answer and that connection's retransmits reliably share is
 * the remote address, hence the default key `peer`:
 *
 *   soconnect, udpconnect, tcpretrans   hash(daddr)
 *   gethostlatency                      kept if any resolved address's hash is
 *                                       kept (so a kept connect always has its
 *                                       lookup); no answers: hash(host)
 *   skbdrop                             kept if saddr's or daddr's hash is kept
 *                                       (the remote end is either, depending on
 *                                       direction); no IP header: per event
 *
 * Trade-off: the unit is the remote address, not the connection — every
 * connection to one address (a ClusterIP behind kube-proxy, a database) is
 * kept or dropped together, and lookups with several answers are kept more
 * often than `ratio`. Key `connection` samples per connection instead (the
 * 4-tuple with its two endpoints in canonical order, so both directions of
 * a connection, its retransmits and packet drops agree), at the price of
 * sampling DNS lookups independently (hash of pid and host name).
 *
 * IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) hash like the IPv4 address,
 * so an AF_INET6 socket's connect matches the DNS A record.
 */
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext, Processor } from '../../pipeline/component.js';
import type { SampleConfig } from './config.js';
import { fmix32, FNV_OFFSET, fnvString, fnvUint32 } from './hash.js';

const MAPPED = '::ffff:';

/** Offset where an address's significant text starts (skips an IPv4-mapped prefix). */
function addrStart(a: string): number {
  return a.length > 7 && a.charCodeAt(0) === 58 /* : */ && a.startsWith(MAPPED) && a.includes('.', 7) ? 7 : 0;
}

/** Compares a[ai..] with b[bi..] like string comparison; negative, 0 or positive. */
function compareFrom(a: string, ai: number, b: string, bi: number): number {
  for (;;) {
    if (ai === a.length) return bi === b.length ? 0 : -1;
    if (bi === b.length) return 1;
    const d = a.charCodeAt(ai++) - b.charCodeAt(bi++);
    if (d !== 0) return d;
  }
}

export class SampleProcessor implements Processor {
  /** Keep when hash < threshold; 2^32 keeps everything. */
  private readonly threshold: number;
  private readonly seedHash: number;
  private readonly byConnection: boolean;

  constructor(
    config: SampleConfig,
    private readonly ctx: Pick<ComponentContext, 'id' | 'telemetry'>,
  ) {
    this.threshold = Math.round(config.ratio * 2 ** 32);
    this.seedHash = fnvUint32(FNV_OFFSET, config.hash_seed);
    this.byConnection = config.key === 'connection';
  }

  process(event: NetEvent): NetEvent | undefined {
    if (this.threshold >= 2 ** 32 || this.keep(event)) return event;
    this.ctx.telemetry.discarded(this.ctx.id, 'sampled_out');
    return undefined;
  }

  /** The decision for an event (exposed for tests). */
  keep(e: NetEvent): boolean {
    if (this.threshold <= 0) return false;
    return this.byConnection ? this.keepConnection(e) : this.keepPeer(e);
  }

  private keepPeer(e: NetEvent): boolean {
    switch (e.type) {
      case 'soconnect':
      case 'udpconnect':
      case 'tcpretrans':
        return this.keptAddr(e.daddr);
      case 'gethostlatency': {
        const a = e.addresses;
        if (a.length === 0) return fmix32(fnvString(fnvUint32(this.seedHash, 1), e.host)) < this.threshold;
        for (let i = 0; i < a.length; i++) if (this.keptAddr(a[i]!)) return true;
        return false;
      }
      case 'skbdrop':
        if (e.saddr === undefined && e.daddr === undefined) return this.keptPerEvent(e);
        return (e.saddr !== undefined && this.keptAddr(e.saddr)) || (e.daddr !== undefined && this.keptAddr(e.daddr));
    }
  }

  private keepConnection(e: NetEvent): boolean {
    switch (e.type) {
      case 'soconnect':
      case 'udpconnect':
      case 'tcpretrans':
        return this.keptTuple(e.saddr, e.sport, e.daddr, e.dport);
      case 'gethostlatency':
        return fmix32(fnvString(fnvUint32(fnvUint32(this.seedHash, 2), e.pid), e.host)) < this.threshold;
      case 'skbdrop':
        if (e.saddr === undefined || e.daddr === undefined) return this.keptPerEvent(e);
        return this.keptTuple(e.saddr, e.sport ?? 0, e.daddr, e.dport ?? 0);
    }
  }

  private keptAddr(a: string): boolean {
    return fmix32(fnvString(this.seedHash, a, addrStart(a))) < this.threshold;
  }

  /** Endpoints in canonical order, so A→B and B→A hash alike. */
  private keptTuple(sa: string, sp: number, da: string, dp: number): boolean {
    const si = addrStart(sa);
    const di = addrStart(da);
    const c = compareFrom(sa, si, da, di);
    let h = fnvUint32(this.seedHash, 3);
    if (c < 0 || (c === 0 && sp <= dp)) {
      h = fnvUint32(fnvString(h, sa, si), sp);
      h = fnvUint32(fnvString(h, da, di), dp);
    } else {
      h = fnvUint32(fnvString(h, da, di), dp);
      h = fnvUint32(fnvString(h, sa, si), sp);
    }
    return fmix32(h) < this.threshold;
  }

  /** Events with nothing to correlate on: sampled per event (by timestamp). */
  private keptPerEvent(e: NetEvent): boolean {
    const t = e.timeUnixNano;
    return (
      fmix32(fnvUint32(fnvUint32(this.seedHash, Number(t & 0xffffffffn)), Number((t >> 32n) & 0xffffffffn))) <
      this.threshold
    );
  }
}
