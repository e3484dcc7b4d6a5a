import { anchorMaps } from './anchors.js';

/** Bounds of a `NameCache` kept across decodes. */
export interface NameCacheLimits {
  /** entries (distinct class + method name pairs) kept before the cache starts over */
  maxEntries: number;
  /** bytes of copied names kept before the cache starts over */
  maxBytes: number;
}

export const DEFAULT_NAME_CACHE_LIMITS: NameCacheLimits = {
  maxEntries: 1 << 16,
  maxBytes: 4 << 20,
};

/**
 * Function name ("Class.method", generated names merged) by the raw bytes of a method's class-name
 * and method-name symbols, within one decode and, when the caller keeps the cache, across decodes.
 *
 * Every chunk repeats its symbols, and every upload of one agent names the same few thousand
 * methods again. Decoding each symbol to a JS string, merging generated names and concatenating
 * "Class.method" costs about a microsecond per method; hashing and comparing the raw bytes costs a
 * small fraction of that and allocates nothing.
 *
 * Exact by construction: the key is the content (the bytes of both symbols and their encodings),
 * never a constant-pool id (those are per chunk), and the cached name is a function of that key
 * alone, so two recordings reusing ids for different methods, or naming one method under different
 * ids, map as if nothing were cached. The cache copies the bytes it keys on (the input buffer is
 * not kept). Entry numbers are stable from one `beginDecode` to the next; the cache starts over
 * only in `beginDecode`, when it holds more than its limits (so one decode may add past them, by
 * at most the names of that recording).
 */
export class NameCache {
  private table = new Int32Array(4096);
  private mask = 4095;
  /** per entry: class start, class length, name start, name length in `bytes`, encodings */
  private spans: Int32Array = new Int32Array(5 * 1024);
  private hashes: Int32Array = new Int32Array(1024);
  private names: string[] = [];
  private bytes = new Uint8Array(64 * 1024);
  private used = 0;
  private count = 0;
  private lastHash = 0;

  constructor(private readonly limits: NameCacheLimits = DEFAULT_NAME_CACHE_LIMITS) {}

  /** Call before each decode that uses this cache: starts over when over the limits. */
  beginDecode(): void {
    if (this.count <= this.limits.maxEntries && this.used <= this.limits.maxBytes) return;
    this.table = new Int32Array(4096);
    this.mask = 4095;
    this.spans = new Int32Array(5 * 1024);
    this.hashes = new Int32Array(1024);
    this.names = [];
    this.bytes = new Uint8Array(64 * 1024);
    this.used = 0;
    this.count = 0;
  }

  /** entries held */
  get size(): number {
    return this.count;
  }

  /** FNV-1a of a class name's bytes: computed once per class and chunk, passed to `find`. */
  classHash(buf: Uint8Array, cs: number, ce: number): number {
    let h = 0x811c9dc5;
    for (let i = cs; i < ce; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    return h;
  }

  /** entry for these byte ranges of `buf`, or -1; remembers the hash for `add` */
  find(
    buf: Uint8Array,
    classHash: number,
    cs: number,
    ce: number,
    ns: number,
    ne: number,
    encs: number,
  ): number {
    let h = Math.imul(classHash ^ encs, 0x01000193);
    for (let i = ns; i < ne; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    this.lastHash = h;
    const mask = this.mask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = this.table[slot] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === h && this.same(e, buf, cs, ce, ns, ne, encs)) return e;
    }
  }

  /** the function name of an entry */
  name(e: number): string {
    return this.names[e];
  }

  /** Records the ranges of the last `find` miss (copying their bytes) with their name; its entry. */
  add(
    buf: Uint8Array,
    cs: number,
    ce: number,
    ns: number,
    ne: number,
    encs: number,
    name: string,
  ): number {
    const e = this.count;
    if (e === this.hashes.length) {
      this.hashes = grow(this.hashes, e * 2);
      this.spans = grow(this.spans, e * 10);
    }
    const cl = ce - cs;
    const nl = ne - ns;
    if (this.used + cl + nl > this.bytes.length) {
      let cap = this.bytes.length * 2;
      while (cap < this.used + cl + nl) cap *= 2;
      const b = new Uint8Array(cap);
      b.set(this.bytes.subarray(0, this.used));
      this.bytes = b;
    }
    const s = e * 5;
    this.spans[s] = this.used;
    this.spans[s + 1] = cl;
    this.bytes.set(buf.subarray(cs, ce), this.used);
    this.used += cl;
    this.spans[s + 2] = this.used;
    this.spans[s + 3] = nl;
    this.bytes.set(buf.subarray(ns, ne), this.used);
    this.used += nl;
    this.spans[s + 4] = encs;
    this.hashes[e] = this.lastHash;
    this.names.push(name);
    this.count = e + 1;
    if (this.count * 2 > this.table.length) this.rehash();
    else this.insert(e);
    return e;
  }

  private insert(e: number): void {
    const mask = this.mask;
    let slot = this.hashes[e] & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = e + 1;
  }

  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2);
    this.mask = this.table.length - 1;
    for (let e = 0; e < this.count; e++) this.insert(e);
  }

  private same(
    e: number,
    buf: Uint8Array,
    cs: number,
    ce: number,
    ns: number,
    ne: number,
    encs: number,
  ): boolean {
    const sp = this.spans;
    const s = e * 5;
    if (sp[s + 4] !== encs || sp[s + 1] !== ce - cs || sp[s + 3] !== ne - ns) return false;
    const bytes = this.bytes;
    for (let i = 0, a = sp[s], n = ce - cs; i < n; i++)
      if (bytes[a + i] !== buf[cs + i]) return false;
    for (let i = 0, a = sp[s + 2], n = ne - ns; i < n; i++)
      if (bytes[a + i] !== buf[ns + i]) return false;
    return true;
  }
}

function grow(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

anchorMaps(new NameCache());
