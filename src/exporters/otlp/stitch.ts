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
import { mappedOffset } from '../../enrich/dns-cache.js';
import { endNano, SpanRef } from './ids.js';
import type { OtlpTelemetry, StitchKind, StitchOutcome } from './telemetry.js';

export interface SpanPlan {
  ref: SpanRef;
  /** The parent span (same trace). */
  parent?: SpanRef | undefined;
  links: readonly SpanRef[];
  /** Peer DNS name learned from a matched lookup. */
  serverAddress?: string | undefined;
  /** Retransmits/drops that happened during this connect: exported as span events. */
  absorbed: readonly (TcpRetransEvent | SkbDropEvent)[];
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
}

/** One answer address of a lookup, by process: what a connect's (pid, daddr) finds. */
interface DnsSlot {
  pid: number;
  address: string;
  entry: DnsEntry;
  expiresAt: number;
}

/** A connect's 4-tuple (as the event gave it) and its span. */
interface ConnEntry extends Tuple {
  ref: SpanRef;
  expiresAt: number;
}

interface Tuple {
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
}

interface Held {
  event: TcpRetransEvent | SkbDropEvent;
  keys: number[];
  deadline: number;
  done: boolean;
}

const MAX_ADDRESSES_PER_LOOKUP = 32;
const NO_LINKS: readonly SpanRef[] = Object.freeze([]);
const NOTHING_ABSORBED: readonly (TcpRetransEvent | SkbDropEvent)[] = Object.freeze([]);

/*
 * Map keys are 30-bit FNV-1a hashes (small integers: no string is built or
 * hashed per event) of the normalized addresses, ports and pid; every entry
 * keeps what it was made from and a lookup compares it, so two tuples with
 * the same hash never match each other (the newer entry takes the slot, and
 * the older one is counted as evicted).
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mixAddress(h: number, a: string): number {
  for (let i = mappedOffset(a); i < a.length; i++) h = Math.imul(h ^ a.charCodeAt(i), FNV_PRIME);
  return Math.imul(h ^ 0x7c, FNV_PRIME);
}

function mixNumber(h: number, n: number): number {
  return Math.imul(Math.imul(h ^ (n & 0xffff), FNV_PRIME) ^ ((n >>> 16) & 0xffff), FNV_PRIME);
}

/** Exported for tests. */
export function tupleKey(saddr: string, sport: number, daddr: string, dport: number): number {
  return mixNumber(mixAddress(mixNumber(mixAddress(FNV_OFFSET, saddr), sport), daddr), dport) & 0x3fffffff;
}

function dnsKey(pid: number, address: string): number {
  return mixAddress(mixNumber(FNV_OFFSET, pid), address) & 0x3fffffff;
}

/** a and b are the same address once IPv4-mapped IPv6 is taken as IPv4 (normalizeAddress(a) === normalizeAddress(b)). */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const oa = mappedOffset(a);
  const ob = mappedOffset(b);
  const n = a.length - oa;
  if (n !== b.length - ob) return false;
  for (let i = 0; i < n; i++) if (a.charCodeAt(oa + i) !== b.charCodeAt(ob + i)) return false;
  return true;
}

function sameTuple(t: Tuple, saddr: string, sport: number, daddr: string, dport: number): boolean {
  return t.sport === sport && t.dport === dport && sameAddress(t.saddr, saddr) && sameAddress(t.daddr, daddr);
}

/** A held retransmit (same direction) or drop (either direction) belongs to connect `c`'s 4-tuple. */
function heldMatches(e: TcpRetransEvent | SkbDropEvent, c: Tuple): boolean {
  if (e.saddr === undefined || e.daddr === undefined || e.sport === undefined || e.dport === undefined) return false;
  if (sameTuple(c, e.saddr, e.sport, e.daddr, e.dport)) return true;
  return e.type === 'skbdrop' && sameTuple(c, e.daddr, e.dport, e.saddr, e.sport);
}

function kindOf(e: TcpRetransEvent | SkbDropEvent): StitchKind {
  return e.type === 'tcpretrans' ? 'retransmit' : 'drop';
}

/** A Map used as a bounded, insertion-ordered TTL cache. */
class TtlMap<V extends { expiresAt: number }> {
  private readonly map = new Map<number, V>();
  constructor(
    private readonly max: number,
    private readonly onEvict: (n: number) => void,
  ) {}
  get size(): number {
    return this.map.size;
  }
  get(key: number, now: number): V | undefined {
    const v = this.map.get(key);
    if (v && v.expiresAt <= now) {
      this.map.delete(key);
      return undefined;
    }
    return v;
  }
  /** Insert as the newest; returns the value the key had (the same item again, or one whose hash it shares). */
  set(key: number, value: V): V | undefined {
    const old = this.map.get(key);
    if (old !== undefined) this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.evict();
    return old;
  }

  /**
   * Evict the oldest entries down to the bound, and a sixteenth of it more:
   * finding the oldest key walks past the holes that deletes leave at the
   * front of V8's table, so one walk per insert (at 10,000 connects/s, with
   * the map always full) was a tenth of the exporter's CPU.
   */
  private evict(): void {
    const n = this.map.size - this.max + (this.max >> 4);
    let left = n;
    for (const k of this.map.keys()) {
      if (left-- <= 0) break;
      this.map.delete(k);
    }
    this.onEvict(n);
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
  private readonly dns: TtlMap<DnsSlot>;
  private readonly connects: TtlMap<ConnEntry>;
  private readonly heldByKey = new Map<number, Held[]>();
  private heldQueue: Held[] = [];
  private heldHead = 0;
  private heldCount = 0;
  private readonly windowNs: bigint;

  constructor(
    private readonly opts: StitchOptions,
    private readonly tel: OtlpTelemetry,
  ) {
    this.dns = new TtlMap(opts.maxEntries, (n) => tel.evicted('dns', n));
    this.connects = new TtlMap(opts.maxEntries, (n) => tel.evicted('connects', n));
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

  /**
   * Feed one event; the events whose span placement is now decided (possibly
   * none, possibly earlier held ones) are appended to `out`, which is returned.
   */
  add(e: NetEvent, now: number, out: Planned[] = []): Planned[] {
    if (!this.opts.enabled) {
      out.push(own(e, plan(SpanRef.root())));
      return out;
    }
    switch (e.type) {
      case 'gethostlatency':
        out.push(this.lookup(e, now));
        return out;
      case 'soconnect':
      case 'udpconnect':
        this.connect(e, now, out);
        return out;
      case 'tcpretrans': {
        const key = tupleKey(e.saddr, e.sport, e.daddr, e.dport);
        const c = this.connects.get(key, now);
        if (c !== undefined && sameTuple(c, e.saddr, e.sport, e.daddr, e.dport)) out.push(this.linked(e, c.ref));
        else this.hold(e, [key], e.state === 'SYN_SENT', now, out);
        return out;
      }
      case 'skbdrop': {
        if (e.saddr === undefined || e.daddr === undefined || e.sport === undefined || e.dport === undefined) {
          out.push(this.standalone(e, 'standalone'));
          return out;
        }
        const fwd = tupleKey(e.saddr, e.sport, e.daddr, e.dport);
        const c = this.connects.get(fwd, now);
        if (c !== undefined && sameTuple(c, e.saddr, e.sport, e.daddr, e.dport)) {
          out.push(this.linked(e, c.ref));
          return out;
        }
        const rev = tupleKey(e.daddr, e.dport, e.saddr, e.sport);
        const r = this.connects.get(rev, now);
        if (r !== undefined && sameTuple(r, e.daddr, e.dport, e.saddr, e.sport)) {
          out.push(this.linked(e, r.ref));
          return out;
        }
        this.hold(e, rev === fwd ? [fwd] : [fwd, rev], e.l4Protocol === 'TCP', now, out);
        return out;
      }
    }
  }

  /** Release held items whose wait is over; expire old map entries. */
  expire(now: number, out: Planned[] = []): Planned[] {
    this.dns.sweep(now);
    this.connects.sweep(now);
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
    const ref = SpanRef.root();
    if (e.result === 'OK' && e.addresses.length > 0) {
      const entry: DnsEntry = {
        host: e.host,
        startNs: e.timeUnixNano,
        endNs: endNano(e.timeUnixNano, e.latencyNs),
        ref,
      };
      const expiresAt = now + Math.max(this.opts.connectTtlMs, this.opts.windowMs);
      const n = Math.min(e.addresses.length, MAX_ADDRESSES_PER_LOOKUP);
      for (let i = 0; i < n; i++) {
        const address = e.addresses[i]!;
        const old = this.dns.set(dnsKey(e.pid, address), { pid: e.pid, address, entry, expiresAt });
        // another (pid, address) with the same hash loses its slot
        if (old !== undefined && (old.pid !== e.pid || !sameAddress(old.address, address))) this.tel.evicted('dns');
      }
    }
    return own(e, plan(ref));
  }

  /** The lookup whose answer a connect by `pid` to `daddr` used, if any is known. */
  private answer(pid: number, daddr: string, now: number): DnsEntry | undefined {
    if (this.dns.size === 0) return undefined;
    const s = this.dns.get(dnsKey(pid, daddr), now);
    return s !== undefined && s.pid === pid && sameAddress(s.address, daddr) ? s.entry : undefined;
  }

  private connect(e: SoConnectEvent | UdpConnectEvent, now: number, out: Planned[]): void {
    const d = this.answer(e.pid, e.daddr, now);
    const matched = d !== undefined && e.timeUnixNano >= d.startNs && e.timeUnixNano - d.endNs <= this.windowNs;
    this.tel.stitch('dns_connect', matched ? 'matched' : 'standalone');
    const ref = matched ? SpanRef.inTrace(d.ref) : SpanRef.root();
    const p = plan(ref);
    if (matched) {
      p.parent = d.ref;
      p.serverAddress = d.host;
    }
    out.push(own(e, p));
    const key = tupleKey(e.saddr, e.sport, e.daddr, e.dport);
    const old = this.connects.set(key, {
      saddr: e.saddr,
      sport: e.sport,
      daddr: e.daddr,
      dport: e.dport,
      ref,
      expiresAt: now + this.opts.connectTtlMs,
    });
    // another 4-tuple with the same hash loses its slot
    if (old !== undefined && !sameTuple(old, e.saddr, e.sport, e.daddr, e.dport)) this.tel.evicted('connects');
    const waiting = this.heldByKey.get(key);
    if (waiting === undefined) return;
    const endNs = e.type === 'soconnect' ? endNano(e.timeUnixNano, e.latencyNs) : e.timeUnixNano;
    let absorbed: (TcpRetransEvent | SkbDropEvent)[] | undefined;
    for (const h of [...waiting]) {
      if (h.done || !heldMatches(h.event, e)) continue;
      this.unhold(h);
      const t = h.event.timeUnixNano;
      if (e.type === 'soconnect' && t >= e.timeUnixNano && t <= endNs) {
        (absorbed ??= []).push(h.event);
        this.tel.stitch(kindOf(h.event), 'absorbed');
        out.push({ event: h.event, ctx: ref });
      } else {
        out.push(this.linked(h.event, ref));
      }
    }
    if (absorbed) p.absorbed = absorbed;
    this.compact();
  }

  /** A retransmit or drop with no connect known yet: held for one (when `holdable`), else a span of its own. */
  private hold(
    e: TcpRetransEvent | SkbDropEvent,
    keys: number[],
    holdable: boolean,
    now: number,
    out: Planned[],
  ): void {
    if (!holdable || this.opts.windowMs === 0) {
      out.push(this.standalone(e, 'standalone'));
      return;
    }
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
  }

  /** The oldest item still held; moves the queue's head past released ones, so overflow costs O(1) amortised. */
  private oldestHeld(): Held | undefined {
    this.compact();
    return this.heldQueue[this.heldHead];
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
    return own(e, plan(SpanRef.root()));
  }

  private linked(e: TcpRetransEvent | SkbDropEvent, to: SpanRef): Planned {
    this.tel.stitch(kindOf(e), 'linked');
    const p = plan(SpanRef.inTrace(to));
    p.parent = to;
    p.links = [to];
    return own(e, p);
  }
}

/** A span of its own, with every field present (one object shape for all plans). */
function plan(ref: SpanRef): SpanPlan {
  return { ref, parent: undefined, links: NO_LINKS, serverAddress: undefined, absorbed: NOTHING_ABSORBED };
}

function own(event: NetEvent, span: SpanPlan): Planned {
  return { event, ctx: span.ref, span };
}
