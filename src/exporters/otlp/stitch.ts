/**
 * Connection traces: decides which span each event becomes part of.
 *
 * Shape of a connection trace (documented choice):
 *
 *   dns.lookup <host>            root span (CLIENT), its own trace
 *   └─ connect                   child of the lookup whose answer it used (CLIENT)
 *      ├─ events: tcp.retransmit, packet.drop   (kernel timestamps, during the handshake)
 *      └─ tcp.retransmit / packet.drop          later ones: own span, child of and linked to the connect
 *
 * The lookup is the parent rather than a sibling under a synthetic parent
 * because the lookup is exported as soon as it arrives (we can't know yet
 * whether a connect will follow), and a parent must exist before its id is
 * referenced. Several connects (happy eyeballs, retries) using one answer
 * become siblings under the same lookup.
 *
 * Matching:
 *  - DNS → connect/udpconnect: same pid, the connect's daddr is one of the
 *    lookup's addresses (IPv4-mapped IPv6 equal to IPv4), and the connect
 *    started after the lookup started and at most `windowMs` after it ended
 *    (kernel times). The lookup's host becomes server.address.
 *  - tcpretrans → connect: same saddr/sport/daddr/dport. skbdrop → connect or
 *    udpconnect: the packet's 4-tuple in either direction.
 *  - connect events arrive only after the handshake, so SYN retransmits and
 *    TCP drops seen before any matching connect are held (at most `windowMs`
 *    of processing time, at most `maxEntries` items). A connect that arrives
 *    in time absorbs those that happened during it as span events; the rest
 *    become spans linked to it. Items that expire (or overflow the bound, or
 *    are still held at shutdown) are released as standalone spans. Every
 *    decision is counted.
 *
 * Time: matching uses kernel timestamps; expiry uses the caller's monotonic
 * processing clock (`now`, ms), so replays of old recordings still match and
 * memory stays bounded. All maps are bounded by `maxEntries` (oldest evicted,
 * counted) and expire by TTL.
 */
import type {
  GetHostLatencyEvent,
  NetEvent,
  SkbDropEvent,
  SoConnectEvent,
  TcpRetransEvent,
  UdpConnectEvent,
} from '../../core/event.js';
import { endNano, newSpanId, newTraceId, normalizeAddress, type SpanRef } from './ids.js';
import type { OtlpTelemetry, StitchKind, StitchOutcome } from './telemetry.js';

export interface SpanPlan {
  ref: SpanRef;
  parentSpanId?: string;
  links: SpanRef[];
  /** Peer DNS name learned from a matched lookup. */
  serverAddress?: string;
  /** Retransmits/drops that happened during this connect: exported as span events. */
  absorbed: (TcpRetransEvent | SkbDropEvent)[];
}

export interface Planned {
  event: NetEvent;
  /** The span that represents this event (its own, or the connect span that absorbed it). */
  ctx: SpanRef;
  /** Present when the event is exported as its own span. */
  span?: SpanPlan;
}

export interface StitchOptions {
  enabled: boolean;
  windowMs: number;
  connectTtlMs: number;
  maxEntries: number;
}

interface DnsEntry {
  host: string;
  startNs: bigint;
  endNs: bigint;
  ref: SpanRef;
  expiresAt: number;
}

interface ConnEntry {
  ref: SpanRef;
  expiresAt: number;
}

interface Held {
  event: TcpRetransEvent | SkbDropEvent;
  keys: string[];
  deadline: number;
  done: boolean;
}

const MAX_ADDRESSES_PER_LOOKUP = 32;

function tupleKey(saddr: string, sport: number, daddr: string, dport: number): string {
  return `${normalizeAddress(saddr)}|${sport}|${normalizeAddress(daddr)}|${dport}`;
}

function kindOf(e: TcpRetransEvent | SkbDropEvent): StitchKind {
  return e.type === 'tcpretrans' ? 'retransmit' : 'drop';
}

/** A Map used as a bounded, insertion-ordered TTL cache. */
class TtlMap<V extends { expiresAt: number }> {
  private readonly map = new Map<string, V>();
  constructor(
    private readonly max: number,
    private readonly onEvict: () => void,
  ) {}
  get size(): number {
    return this.map.size;
  }
  get(key: string, now: number): V | undefined {
    const v = this.map.get(key);
    if (v && v.expiresAt <= now) {
      this.map.delete(key);
      return undefined;
    }
    return v;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.evict();
  }

  /**
   * Evict the oldest entries down to the bound, and a sixteenth of it more:
   * finding the oldest key walks past the holes that deletes leave at the
   * front of V8's table, so one walk per insert (at 10,000 connects/s, with
   * the map always full) was a tenth of the exporter's CPU.
   */
  private evict(): void {
    let n = this.map.size - this.max + (this.max >> 4);
    for (const k of this.map.keys()) {
      if (n-- <= 0) break;
      this.map.delete(k);
      this.onEvict();
    }
  }

  /** Drop expired entries from the oldest end (TTLs are constant, so insertion order ≈ expiry order). */
  sweep(now: number): void {
    for (const [k, v] of this.map) {
      if (v.expiresAt > now) break;
      this.map.delete(k);
    }
  }
  clear(): void {
    this.map.clear();
  }
}

export class Stitcher {
  private readonly dns: TtlMap<DnsEntry>;
  private readonly connects: TtlMap<ConnEntry>;
  private readonly heldByKey = new Map<string, Held[]>();
  private heldQueue: Held[] = [];
  private heldHead = 0;
  private heldCount = 0;
  private readonly windowNs: bigint;

  constructor(
    private readonly opts: StitchOptions,
    private readonly tel: OtlpTelemetry,
  ) {
    this.dns = new TtlMap(opts.maxEntries, () => tel.evicted('dns'));
    this.connects = new TtlMap(opts.maxEntries, () => tel.evicted('connects'));
    this.windowNs = BigInt(opts.windowMs) * 1_000_000n;
  }

  /** Number of retransmits/drops currently waiting for a connect. */
  get held(): number {
    return this.heldCount;
  }

  /** Sizes of the bounded maps (for tests and debugging). */
  sizes(): { dns: number; connects: number; held: number; heldIndex: number } {
    return { dns: this.dns.size, connects: this.connects.size, held: this.heldCount, heldIndex: this.heldByKey.size };
  }

  /** Feed one event; returns the events whose span placement is now decided (possibly none, possibly earlier held ones). */
  add(e: NetEvent, now: number): Planned[] {
    if (!this.opts.enabled)
      return [own(e, { ref: { traceId: newTraceId(), spanId: newSpanId() }, links: [], absorbed: [] })];
    switch (e.type) {
      case 'gethostlatency':
        return [this.lookup(e, now)];
      case 'soconnect':
      case 'udpconnect':
        return this.connect(e, now);
      case 'tcpretrans':
        return this.retransOrDrop(e, [tupleKey(e.saddr, e.sport, e.daddr, e.dport)], e.state === 'SYN_SENT', now);
      case 'skbdrop': {
        if (e.saddr === undefined || e.daddr === undefined || e.sport === undefined || e.dport === undefined) {
          return [this.standalone(e, 'standalone')];
        }
        const keys = [tupleKey(e.saddr, e.sport, e.daddr, e.dport), tupleKey(e.daddr, e.dport, e.saddr, e.sport)];
        return this.retransOrDrop(e, keys, e.l4Protocol === 'TCP', now);
      }
    }
  }

  /** Release held items whose wait is over; expire old map entries. */
  expire(now: number): Planned[] {
    this.dns.sweep(now);
    this.connects.sweep(now);
    const out: Planned[] = [];
    const q = this.heldQueue;
    while (this.heldHead < q.length) {
      const h = q[this.heldHead]!;
      if (!h.done && h.deadline > now) break;
      this.heldHead++;
      if (!h.done) out.push(this.release(h, 'expired'));
    }
    this.compact();
    return out;
  }

  /** Release everything still held (shutdown). */
  drain(): Planned[] {
    const out: Planned[] = [];
    for (let i = this.heldHead; i < this.heldQueue.length; i++) {
      const h = this.heldQueue[i]!;
      if (!h.done) out.push(this.release(h, 'shutdown'));
    }
    this.heldQueue = [];
    this.heldHead = 0;
    this.heldByKey.clear();
    this.dns.clear();
    this.connects.clear();
    return out;
  }

  private lookup(e: GetHostLatencyEvent, now: number): Planned {
    const ref = { traceId: newTraceId(), spanId: newSpanId() };
    if (e.result === 'OK' && e.addresses.length > 0) {
      const entry: DnsEntry = {
        host: e.host,
        startNs: e.timeUnixNano,
        endNs: endNano(e.timeUnixNano, e.latencyNs),
        ref,
        expiresAt: now + Math.max(this.opts.connectTtlMs, this.opts.windowMs),
      };
      const n = Math.min(e.addresses.length, MAX_ADDRESSES_PER_LOOKUP);
      for (let i = 0; i < n; i++) this.dns.set(`${e.pid}|${normalizeAddress(e.addresses[i]!)}`, entry);
    }
    return own(e, { ref, links: [], absorbed: [] });
  }

  private connect(e: SoConnectEvent | UdpConnectEvent, now: number): Planned[] {
    const d = this.dns.get(`${e.pid}|${normalizeAddress(e.daddr)}`, now);
    const matched = d !== undefined && e.timeUnixNano >= d.startNs && e.timeUnixNano - d.endNs <= this.windowNs;
    this.tel.stitch('dns_connect', matched ? 'matched' : 'standalone');
    const ref = { traceId: matched ? d.ref.traceId : newTraceId(), spanId: newSpanId() };
    const plan: SpanPlan = { ref, links: [], absorbed: [] };
    if (matched) {
      plan.parentSpanId = d.ref.spanId;
      plan.serverAddress = d.host;
    }
    const out: Planned[] = [own(e, plan)];
    const key = tupleKey(e.saddr, e.sport, e.daddr, e.dport);
    this.connects.set(key, { ref, expiresAt: now + this.opts.connectTtlMs });
    const waiting = this.heldByKey.get(key);
    if (waiting) {
      const endNs = e.type === 'soconnect' ? endNano(e.timeUnixNano, e.latencyNs) : e.timeUnixNano;
      for (const h of [...waiting]) {
        this.unhold(h);
        const t = h.event.timeUnixNano;
        if (e.type === 'soconnect' && t >= e.timeUnixNano && t <= endNs) {
          plan.absorbed.push(h.event);
          this.tel.stitch(kindOf(h.event), 'absorbed');
          out.push({ event: h.event, ctx: ref });
        } else {
          out.push(this.linked(h.event, ref));
        }
      }
      this.compact();
    }
    return out;
  }

  private retransOrDrop(e: TcpRetransEvent | SkbDropEvent, keys: string[], holdable: boolean, now: number): Planned[] {
    for (const k of keys) {
      const c = this.connects.get(k, now);
      if (c) return [this.linked(e, c.ref)];
    }
    if (!holdable || this.opts.windowMs === 0) return [this.standalone(e, 'standalone')];
    const out: Planned[] = [];
    if (this.heldCount >= this.opts.maxEntries) {
      const oldest = this.oldestHeld();
      if (oldest) out.push(this.release(oldest, 'overflow'));
    }
    const h: Held = { event: e, keys, deadline: now + this.opts.windowMs, done: false };
    this.heldQueue.push(h);
    this.heldCount++;
    for (const k of keys) {
      const list = this.heldByKey.get(k);
      if (list) list.push(h);
      else this.heldByKey.set(k, [h]);
    }
    this.tel.heldNow(this.heldCount);
    return out;
  }

  private oldestHeld(): Held | undefined {
    for (let i = this.heldHead; i < this.heldQueue.length; i++) {
      const h = this.heldQueue[i]!;
      if (!h.done) return h;
    }
    return undefined;
  }

  private unhold(h: Held): void {
    if (h.done) return;
    h.done = true;
    this.heldCount--;
    for (const k of h.keys) {
      const list = this.heldByKey.get(k);
      if (!list) continue;
      const i = list.indexOf(h);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.heldByKey.delete(k);
    }
    this.tel.heldNow(this.heldCount);
  }

  private release(h: Held, outcome: StitchOutcome): Planned {
    this.unhold(h);
    return this.standalone(h.event, outcome);
  }

  private compact(): void {
    while (this.heldHead < this.heldQueue.length && this.heldQueue[this.heldHead]!.done) this.heldHead++;
    if (this.heldHead > 1024 && this.heldHead * 2 > this.heldQueue.length) {
      this.heldQueue = this.heldQueue.slice(this.heldHead);
      this.heldHead = 0;
    }
  }

  private standalone(e: NetEvent, outcome: StitchOutcome): Planned {
    if (e.type === 'tcpretrans' || e.type === 'skbdrop') this.tel.stitch(kindOf(e), outcome);
    return own(e, { ref: { traceId: newTraceId(), spanId: newSpanId() }, links: [], absorbed: [] });
  }

  private linked(e: TcpRetransEvent | SkbDropEvent, to: SpanRef): Planned {
    this.tel.stitch(kindOf(e), 'linked');
    return own(e, {
      ref: { traceId: to.traceId, spanId: newSpanId() },
      parentSpanId: to.spanId,
      links: [to],
      absorbed: [],
    });
  }
}

function own(event: NetEvent, span: SpanPlan): Planned {
  return { event, ctx: span.ref, span };
}
