// Raw id → new id maps for renumbering a profile's lists. Ids are usually 1..n (every agent and
// our own writer produce them so): those take a dense Int32Array; anything sparser (ids are
// uint64 on the wire) falls back to a Map. `set` overwrites, so a duplicate id resolves to its
// last occurrence, as `Map.set` in a loop over the list does.

export interface IdMap {
  /** the new id of `raw`, or 0 when it has none (0 is never a valid new id) */
  get(raw: number): number;
  set(raw: number, id: number): void;
}

class DenseIdMap implements IdMap {
  private readonly a: Int32Array;
  constructor(max: number) {
    this.a = new Int32Array(max + 1);
  }
  get(raw: number): number {
    return raw >= 0 && raw < this.a.length ? this.a[raw] : 0;
  }
  set(raw: number, id: number): void {
    this.a[raw] = id;
  }
}

class SparseIdMap implements IdMap {
  private readonly m = new Map<number, number>();
  get(raw: number): number {
    return this.m.get(raw) ?? 0;
  }
  set(raw: number, id: number): void {
    this.m.set(raw, id);
  }
}

/** A map for the raw ids `ids[0..count)`. */
export function idMapFor(ids: Float64Array, count: number): IdMap {
  let max = 0;
  for (let i = 0; i < count; i++) {
    const v = ids[i];
    if (!(v >= 0) || v !== Math.floor(v)) return new SparseIdMap();
    if (v > max) max = v;
  }
  return max <= 4 * count + 1024 ? new DenseIdMap(max) : new SparseIdMap();
}

/** A set of raw ids bounded by `max` (dense) or not (sparse). */
export function idMapUpTo(max: number): IdMap {
  return max >= 0 && max <= 1 << 24 ? new DenseIdMap(max) : new SparseIdMap();
}
