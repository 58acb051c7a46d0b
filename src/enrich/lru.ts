/**
 * A bounded map that evicts an entry not used lately: the "second chance"
 * (CLOCK) approximation of least-recently-used on top of Map's insertion
 * order. A hit only marks its entry used; when an insert finds the map full,
 * entries are looked at from the oldest: a used one is unmarked and moved to
 * the back, the first unused one is evicted.
 *
 * Why not a strict LRU (delete + set on every hit): a hit happens several
 * times per event, and each delete + set of a long-lived Map eventually makes
 * V8 rebuild the Map's table in the old generation. At 10,000 events/s that
 * was tens of megabytes of old-generation garbage a second, freed only by
 * full collections: most of the daemon's peak memory. Here a hit allocates
 * and moves nothing; the table changes only on inserts and evictions.
 */
interface Entry<V> {
  value: V;
  used: boolean;
}

export class Lru<K, V> {
  private readonly map = new Map<K, Entry<V>>();
  evictions = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`LRU size must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marking the entry used (it survives the next eviction that reaches it). */
  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    e.used = true;
    return e.value;
  }

  /** Reads without marking the entry used. */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  /** Insert (as unused, at the back) or update (marked used, in place). */
  set(key: K, value: V): void {
    const e = this.map.get(key);
    if (e !== undefined) {
      e.value = value;
      e.used = true;
      return;
    }
    if (this.map.size >= this.max) this.evictOne();
    this.map.set(key, { value, used: false });
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Keys from the oldest (next to be looked at by an eviction) to the newest. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  /** Evict the oldest unused entry; used ones met on the way get a second chance (at most one pass over the map). */
  private evictOne(): void {
    for (let i = this.map.size; i > 0; i--) {
      const oldest = this.map.entries().next();
      if (oldest.done) return;
      const [k, e] = oldest.value;
      this.map.delete(k);
      if (!e.used) {
        this.evictions++;
        return;
      }
      e.used = false;
      this.map.set(k, e);
    }
    // every entry was used: all are unmarked now, evict the oldest
    const oldest = this.map.keys().next();
    if (!oldest.done) {
      this.map.delete(oldest.value);
      this.evictions++;
    }
  }
}
