/**
 * A bounded least-recently-used map on top of Map's insertion order: a hit
 * moves the key to the back, an insert past `max` evicts the front. O(1),
 * no timers, no per-entry allocation beyond the Map's own.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  evictions = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`LRU size must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    // A hit becomes the newest entry (delete + set, the expensive part of a
    // hit): hot paths that can live with oldest-inserted eviction use peek().
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Reads without touching recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    if (this.map.has(key)) this.map.delete(key);
    else if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) {
        this.map.delete(oldest.value);
        this.evictions++;
      }
    }
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }
}
