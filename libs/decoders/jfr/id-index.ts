import { anchorMaps } from './anchors.js';
import { idTableSpares } from './spare-arrays.js';

/** Ids below this go to a dense array; above, to an open-addressing hash of doubles. */
const DENSE_LIMIT = 1 << 21;
const TWO32 = 4294967296;

/**
 * Maps a 64-bit JFR id to a small slot number. Ids are canonical: a JS number when at most 2^53-1,
 * a bigint only above (so 5 and 5n never both occur).
 *
 * Three tiers, fastest first: a dense Int32Array for small ids (async-profiler numbers everything
 * from 1); an open-addressing table keyed by the id as a double for large safe ids (JDK method and
 * stack-trace ids are trace ids, often above 2^32), which unlike a Map allocates nothing per
 * lookup; and a Map for the rare ids above 2^53 (bigint keys).
 */
export class IdIndex {
  private dense = new Int32Array(0);
  private keys = new Float64Array(0);
  /** slot + 1; 0 = empty */
  private vals = new Int32Array(0);
  private mask = 0;
  private used = 0;
  private big: Map<bigint, number> | null = null;
  /** highest dense id set + 1, so `clear` touches only what was used */
  private denseUsed = 0;

  /**
   * Forgets every id and gives the dense array to the next decode on this thread
   * (spare-arrays.ts). Call it when the decode is done with this index; safe to call twice, and
   * the index stays usable (as if new).
   */
  release(): void {
    this.clear();
    idTableSpares.give(this.dense);
    this.dense = new Int32Array(0);
  }

  /** Forgets every id, keeping the allocated capacity (reused from chunk to chunk). */
  clear(): void {
    this.dense.fill(0, 0, this.denseUsed);
    this.denseUsed = 0;
    if (this.used > 0) {
      this.vals.fill(0);
      this.used = 0;
    }
    this.big = null;
  }

  /** slot of `id` (a safe non-negative integer), or -1 */
  get(id: number): number {
    if (id >= 0 && id < this.dense.length) {
      const v = this.dense[id];
      if (v !== 0) return v - 1;
    }
    if (this.used === 0) return -1;
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let h = hash(id) & mask;
    for (;;) {
      const v = vals[h];
      if (v === 0) return -1;
      if (keys[h] === id) return v - 1;
      h = (h + 1) & mask;
    }
  }

  getAny(id: number | bigint): number {
    if (typeof id === 'number') return this.get(id);
    if (this.big === null) return -1;
    return this.big.get(id) ?? -1;
  }

  set(id: number | bigint, slot: number): void {
    if (typeof id !== 'number') {
      if (this.big === null) this.big = new Map();
      this.big.set(id, slot);
      return;
    }
    if (id >= 0 && id < DENSE_LIMIT) {
      if (id >= this.dense.length) {
        let n = Math.max(1024, this.dense.length * 2);
        while (n <= id) n *= 2;
        const d = idTableSpares.take(Math.min(n, DENSE_LIMIT));
        d.set(this.dense);
        this.dense.fill(0, 0, this.denseUsed);
        idTableSpares.give(this.dense);
        this.dense = d;
      }
      this.dense[id] = slot + 1;
      if (id >= this.denseUsed) this.denseUsed = id + 1;
      return;
    }
    if ((this.used + 1) * 2 > this.vals.length) this.grow();
    const mask = this.mask;
    let h = hash(id) & mask;
    while (this.vals[h] !== 0 && this.keys[h] !== id) h = (h + 1) & mask;
    if (this.vals[h] === 0) this.used++;
    this.keys[h] = id;
    this.vals[h] = slot + 1;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const cap = Math.max(1024, oldVals.length * 2);
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < oldVals.length; i++) {
      if (oldVals[i] === 0) continue;
      let h = hash(oldKeys[i]) & this.mask;
      while (this.vals[h] !== 0) h = (h + 1) & this.mask;
      this.keys[h] = oldKeys[i];
      this.vals[h] = oldVals[i];
    }
  }
}

/** Mixes both 32-bit halves of a safe integer (JDK ids differ mostly in their high bits). */
function hash(id: number): number {
  const lo = id >>> 0;
  const hi = (id / TWO32) >>> 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  return Math.imul(h, 0xc2b2ae35) ^ (h >>> 13);
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Canonical form of an exact id: a number when safe. */
export function canonicalId(v: bigint): number | bigint {
  return v <= MAX_SAFE_BIG && v >= -MAX_SAFE_BIG ? Number(v) : v;
}

anchorMaps(new IdIndex());
