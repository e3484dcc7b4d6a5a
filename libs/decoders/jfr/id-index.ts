/** Ids below this go to a dense array; above, to a Map (a slow path taken by few recordings). */
const DENSE_LIMIT = 1 << 21;

/**
 * Maps a 64-bit JFR id to a small slot number. Ids are canonical: a JS number when at most 2^53-1,
 * a bigint only above (so 5 and 5n never both occur and the Map keys stay exact).
 */
export class IdIndex {
  private dense = new Int32Array(0);
  private sparse: Map<number | bigint, number> | null = null;

  /** slot of `id` (a safe non-negative integer), or -1 */
  get(id: number): number {
    if (id < this.dense.length) {
      const v = this.dense[id];
      if (v !== 0) return v - 1;
    }
    if (this.sparse === null) return -1;
    return this.sparse.get(id) ?? -1;
  }

  getAny(id: number | bigint): number {
    if (typeof id === 'number') return this.get(id);
    if (this.sparse === null) return -1;
    return this.sparse.get(id) ?? -1;
  }

  set(id: number | bigint, slot: number): void {
    if (typeof id === 'number' && id >= 0 && id < DENSE_LIMIT) {
      if (id >= this.dense.length) {
        let n = Math.max(1024, this.dense.length * 2);
        while (n <= id) n *= 2;
        const d = new Int32Array(Math.min(n, DENSE_LIMIT));
        d.set(this.dense);
        this.dense = d;
      }
      this.dense[id] = slot + 1;
      return;
    }
    if (this.sparse === null) this.sparse = new Map();
    this.sparse.set(id, slot);
  }
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Canonical form of an exact id: a number when safe. */
export function canonicalId(v: bigint): number | bigint {
  return v <= MAX_SAFE_BIG && v >= -MAX_SAFE_BIG ? Number(v) : v;
}
