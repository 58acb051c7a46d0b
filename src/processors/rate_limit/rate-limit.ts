/**
 * The rate_limit processor: one token bucket per key (refilled at `rate`
 * per second up to `burst`), kept in a Map used as an LRU (re-inserted on
 * use, oldest evicted beyond max_keys), so memory is bounded whatever the
 * key cardinality.
 *
 * Summaries: process() is 1:1, so it cannot emit an extra record. Instead,
 * when a key had discards, the next event that passes for that key is
 * returned as a copy with the attribute `netspan.rate_limit.dropped` = the
 * number discarded since the previous summary — at most one summary per key
 * per drop streak, and the count survives until the key passes again (or
 * its bucket is evicted, which is logged). The discard counter
 * (netspan_events_discarded_total{reason="rate_limited"}) counts every one.
 */
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext, Processor } from '../../pipeline/component.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_NAMESPACE,
  ATTR_POD_NAME,
  ATTR_POD_UID,
  attrString,
  WORKLOAD_ATTRS,
} from '../shared/fields.js';
import type { RateLimitConfig } from './config.js';

export const DROPPED_ATTR = 'netspan.rate_limit.dropped';

interface Bucket {
  tokens: number;
  /** now() of the last refill, ms. */
  last: number;
  /** Discarded since the last summary. */
  dropped: number;
}

type KeyFn = (e: NetEvent) => string;

function podKey(e: NetEvent): string {
  const uid = attrString(e, ATTR_POD_UID);
  if (uid !== undefined) return uid;
  const ns = attrString(e, ATTR_NAMESPACE);
  const pod = attrString(e, ATTR_POD_NAME);
  if (ns !== undefined && pod !== undefined) return `${ns}/${pod}`;
  return attrString(e, ATTR_CONTAINER_ID) ?? '';
}

function workloadKey(e: NetEvent): string {
  if (!e.attributes) return '';
  for (const [kind, attr] of WORKLOAD_ATTRS) {
    const name = e.attributes[attr];
    if (typeof name === 'string') return `${attrString(e, ATTR_NAMESPACE) ?? ''}/${kind}/${name}`;
  }
  return '';
}

const KEY_FNS: Record<Exclude<RateLimitConfig['key'], 'none'>, KeyFn> = {
  pod: podKey,
  namespace: (e) => attrString(e, ATTR_NAMESPACE) ?? '',
  workload: workloadKey,
  comm: (e) => e.comm,
  type: (e) => e.type,
};

export class RateLimitProcessor implements Processor {
  private readonly perMs: number;
  private readonly burst: number;
  private readonly keyFn: KeyFn | undefined;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly single: Bucket;

  /** `now` returns milliseconds from a monotonic clock; injectable for tests. */
  constructor(
    config: RateLimitConfig,
    private readonly ctx: Pick<ComponentContext, 'id' | 'telemetry'>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = config.rate / 1000;
    this.burst = config.burst ?? Math.max(1, Math.ceil(config.rate));
    this.keyFn = config.key === 'none' ? undefined : KEY_FNS[config.key];
    this.maxKeys = config.max_keys;
    this.single = { tokens: this.burst, last: this.now(), dropped: 0 };
  }

  /** Buckets currently held (tests, debugging). */
  get size(): number {
    return this.keyFn ? this.buckets.size : 1;
  }

  process(event: NetEvent): NetEvent | undefined {
    const now = this.now();
    const b = this.keyFn ? this.bucket(this.keyFn(event), now) : this.single;
    const elapsed = now - b.last;
    if (elapsed > 0) {
      b.tokens = Math.min(this.burst, b.tokens + elapsed * this.perMs);
      b.last = now;
    }
    if (b.tokens < 1) {
      b.dropped++;
      this.ctx.telemetry.discarded(this.ctx.id, 'rate_limited');
      return undefined;
    }
    b.tokens -= 1;
    if (b.dropped === 0) return event;
    const dropped = b.dropped;
    b.dropped = 0;
    return { ...event, attributes: { ...event.attributes, [DROPPED_ATTR]: dropped } };
  }

  private bucket(key: string, now: number): Bucket {
    let b = this.buckets.get(key);
    if (b) {
      // Most recently used goes last; the first entry is the eviction candidate.
      this.buckets.delete(key);
      this.buckets.set(key, b);
      return b;
    }
    if (this.buckets.size >= this.maxKeys) this.evictOldest();
    b = { tokens: this.burst, last: now, dropped: 0 };
    this.buckets.set(key, b);
    return b;
  }

  private evictOldest(): void {
    const first = this.buckets.entries().next();
    if (first.done) return;
    const [key, b] = first.value;
    this.buckets.delete(key);
    if (b.dropped > 0) {
      this.ctx.telemetry.rl.warn(
        `rate_limit:${this.ctx.id}:evict`,
        { max_keys: this.maxKeys, unreported: b.dropped },
        'rate_limit forgot a bucket with unreported discards (more keys than max_keys); its summary attribute is lost, the discard counter still has them',
      );
    }
  }
}
