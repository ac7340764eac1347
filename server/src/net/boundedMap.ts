/**
 * A Map with a hard size bound: inserting past `capacity` evicts the least recently set entry.
 * Every per-peer / per-sender memory in the net layer goes through one of these, so a flood of
 * new ids costs bounded memory.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  private evictions = 0;
  /** The most recently set key: setting it again needs no reordering (the common case). */
  private newest: K | undefined;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError('capacity must be positive');
  }

  get size(): number {
    return this.map.size;
  }

  get evicted(): number {
    return this.evictions;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Sets and marks as most recent. */
  set(key: K, value: V): void {
    if (key === this.newest && this.map.has(key)) {
      this.map.set(key, value);
      return;
    }
    this.newest = key;
    if (this.map.has(key)) this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
      this.evictions++;
    }
  }

  delete(key: K): boolean {
    if (key === this.newest) this.newest = undefined;
    return this.map.delete(key);
  }

  clear(): void {
    this.newest = undefined;
    this.map.clear();
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
