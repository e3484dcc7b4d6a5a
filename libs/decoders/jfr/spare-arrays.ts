/**
 * Zeroed Int32Arrays that finished decodes gave back, for the next decode on the same thread.
 *
 * A JFR decode sizes its id tables (IdIndex's dense array, PoolTable's offsets) by doubling as a
 * chunk's pools are read: about 40 allocations and 1.6 MB for the Java agent's 250 KB upload, a
 * third of all the typed-array bytes the decode allocates. Each is a fresh zero-filled allocation
 * (above glibc's mmap threshold: fresh pages) that V8 counts against the young generation's
 * external-memory trigger, so the decode worker scavenged every few uploads for them alone.
 * Handed on from decode to decode they cost a memset of the part that was used.
 *
 * Contract: `give` takes an array the caller has zeroed and no longer references; `take` hands
 * each array out once. Module state, so one list per thread (worker threads have their own).
 * Bounded: at most `maxBytes` and `maxArrays` are kept; past that a given array is left to the GC.
 */
export class SpareInt32Arrays {
  private readonly free: Int32Array<ArrayBuffer>[] = [];
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxArrays: number,
  ) {}

  /** A zeroed array of at least `n` elements: the smallest spare that fits, else a new one. */
  take(n: number): Int32Array<ArrayBuffer> {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i].length;
      if (len >= n && (best < 0 || len < this.free[best].length)) best = i;
    }
    if (best < 0) return new Int32Array(n);
    const a = this.free[best];
    this.free[best] = this.free[this.free.length - 1];
    this.free.pop();
    this.bytes -= a.byteLength;
    return a;
  }

  /** Keeps `a` (all zero, no longer used by the caller) for a later `take`, within the bounds. */
  give(a: Int32Array<ArrayBuffer>): void {
    if (a.length === 0) return;
    if (this.bytes + a.byteLength > this.maxBytes) return;
    if (this.free.length >= this.maxArrays) return;
    this.free.push(a);
    this.bytes += a.byteLength;
  }

  /** bytes held (tests) */
  get heldBytes(): number {
    return this.bytes;
  }
}

/** The JFR decoder's id tables: 8 MiB at most per thread (a dense table is at most 8 MiB). */
export const idTableSpares = new SpareInt32Arrays(8 << 20, 32);
