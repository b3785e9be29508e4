/**
 * A read-only map as a shared base plus a small layer of changes: what incremental snapshot updates
 * use instead of copying a 100,000-entry Map for one changed entry. `with()` returns a new map with
 * more changes (copying the layer, not the base); the base is never mutated, so every older map
 * built on it stays valid. Lookups cost one probe of the layer (usually tiny) and one of the base.
 */
const REMOVED: unique symbol = Symbol('removed');
type Slot<V> = V | typeof REMOVED;

export class OverlayMap<K, V> implements ReadonlyMap<K, V> {
  readonly size: number;

  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly layer: ReadonlyMap<K, Slot<V>>,
    size: number,
  ) {
    this.size = size;
  }

  /** `map` with `sets` applied, then `deletes` removed. */
  static with<K, V>(
    map: ReadonlyMap<K, V>,
    sets: Iterable<readonly [K, V]>,
    deletes: Iterable<K> = [],
  ): ReadonlyMap<K, V> {
    const base = map instanceof OverlayMap ? (map.base as ReadonlyMap<K, V>) : map;
    const layer = new Map<K, Slot<V>>(map instanceof OverlayMap ? (map.layer as ReadonlyMap<K, Slot<V>>) : []);
    let size = map.size;
    for (const k of deletes) {
      if (!layer.has(k) && !base.has(k)) continue;
      const had = layer.has(k) ? layer.get(k) !== REMOVED : true;
      if (base.has(k)) layer.set(k, REMOVED);
      else layer.delete(k);
      if (had) size--;
    }
    for (const [k, v] of sets) {
      const cur = layer.has(k) ? layer.get(k) !== REMOVED : base.has(k);
      layer.set(k, v);
      if (!cur) size++;
    }
    return new OverlayMap(base, layer, size);
  }

  /** How many entries the layer holds (what the next `with` copies). */
  get layerSize(): number {
    return this.layer.size;
  }

  /** The entries set since the base (not the removed ones). */
  *changed(): Iterable<[K, V]> {
    for (const [k, v] of this.layer) if (v !== REMOVED) yield [k, v];
  }

  get(key: K): V | undefined {
    if (this.layer.size > 0) {
      const v = this.layer.get(key);
      if (v !== undefined) return v === REMOVED ? undefined : v;
    }
    return this.base.get(key);
  }

  has(key: K): boolean {
    if (this.layer.size > 0) {
      const v = this.layer.get(key);
      if (v !== undefined) return v !== REMOVED;
    }
    return this.base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const e of this.base) if (!this.layer.has(e[0])) yield e;
    for (const [k, v] of this.layer) if (v !== REMOVED) yield [k, v];
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }
}
