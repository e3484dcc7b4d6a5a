import { anchorMaps } from './anchors.js';

/**
 * Function index by the raw bytes of a method's class-name and method-name symbols.
 *
 * Every chunk repeats its symbols, and a long JDK recording has dozens of chunks naming the same
 * few thousand methods. Decoding each symbol to a JS string, merging generated names and interning
 * "Class.method" per chunk costs about a microsecond per method; hashing and comparing the raw bytes
 * (which stay in the input buffer for the whole decode) costs a small fraction of that and allocates
 * nothing. Exact: a hit requires byte-identical names in the same encoding.
 */
export class NameCache {
  private table = new Int32Array(4096);
  private mask = 4095;
  /** per entry: class start, class end, name start, name end, encodings (class << 8 | name) */
  private spans: Int32Array = new Int32Array(5 * 1024);
  private hashes: Int32Array = new Int32Array(1024);
  private funcs: Int32Array = new Int32Array(1024);
  private count = 0;
  private lastHash = 0;

  constructor(private readonly buf: Uint8Array) {}

  /** FNV-1a of a class name's bytes: computed once per class and chunk, passed to `find`. */
  classHash(cs: number, ce: number): number {
    const buf = this.buf;
    let h = 0x811c9dc5;
    for (let i = cs; i < ce; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    return h;
  }

  /** function index for these byte ranges, or -1; remembers the hash for `add` */
  find(classHash: number, cs: number, ce: number, ns: number, ne: number, encs: number): number {
    const buf = this.buf;
    let h = Math.imul(classHash ^ encs, 0x01000193);
    for (let i = ns; i < ne; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    this.lastHash = h;
    const mask = this.mask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = this.table[slot] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === h && this.same(e, cs, ce, ns, ne, encs)) return this.funcs[e];
    }
  }

  /** records the ranges of the last `find` miss */
  add(cs: number, ce: number, ns: number, ne: number, encs: number, func: number): void {
    const e = this.count;
    if (e === this.funcs.length) {
      this.funcs = grow(this.funcs, e * 2);
      this.hashes = grow(this.hashes, e * 2);
      this.spans = grow(this.spans, e * 10);
    }
    this.funcs[e] = func;
    this.hashes[e] = this.lastHash;
    const s = e * 5;
    this.spans[s] = cs;
    this.spans[s + 1] = ce;
    this.spans[s + 2] = ns;
    this.spans[s + 3] = ne;
    this.spans[s + 4] = encs;
    this.count = e + 1;
    if (this.count * 2 > this.table.length) this.rehash();
    else this.insert(e);
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

  private same(e: number, cs: number, ce: number, ns: number, ne: number, encs: number): boolean {
    const sp = this.spans;
    const s = e * 5;
    if (sp[s + 4] !== encs || sp[s + 1] - sp[s] !== ce - cs || sp[s + 3] - sp[s + 2] !== ne - ns)
      return false;
    const buf = this.buf;
    for (let i = 0, a = sp[s], n = ce - cs; i < n; i++)
      if (buf[a + i] !== buf[cs + i]) return false;
    for (let i = 0, a = sp[s + 2], n = ne - ns; i < n; i++)
      if (buf[a + i] !== buf[ns + i]) return false;
    return true;
  }
}

function grow(a: Int32Array, n: number): Int32Array {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

anchorMaps(new NameCache(new Uint8Array(0)));
