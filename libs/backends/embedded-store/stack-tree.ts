import type { Int64, Profile } from '../../model/index.js';

// A call tree merged from many profiles: the shape every flame-graph style answer is built from.
// Frames are function names (the first line of each location, inlined frames expanded), root
// first. Values are summed as numbers: flame graphs are for eyes, and per-node totals above 2^53
// are not a practical concern there.
//
// Nodes live in typed arrays beside one array of their names (references to the profiles'
// strings, never copied or interned): a merge of a dozen 12,000-stack profiles makes about a
// million nodes, which as objects with a Map of children each held ~400 MB of heap. A child is
// found by scanning its parent's few children (most nodes have one or two); a parent with more
// than WIDE children gets a Map of them by name. A global intern table of names was tried and
// was twice as slow: production names are mostly distinct (generated classes, lambdas), so it
// only grows a huge Map.

/** The root's node id; its name is `total`. */
export const ROOT = 0;
/** children past which a node's children are found through a Map instead of a scan */
const WIDE = 8;

export class CallTree {
  count = 0;
  /** per node: its frame name */
  readonly nodeName: string[] = [];
  parent = new Int32Array(1024);
  firstChild = new Int32Array(1024);
  nextSibling = new Int32Array(1024);
  childCount = new Int32Array(1024);
  /** per node: its value and its children's */
  totals = new Float64Array(1024);
  /** per node: its own value */
  selfs = new Float64Array(1024);
  /** the children of wide nodes, by name */
  private readonly wide = new Map<number, Map<string, number>>();

  constructor() {
    this.add(-1, 'total');
  }

  /** the value at the root: everything merged */
  get total(): number {
    return this.totals[ROOT];
  }

  /** The child of `parent` named `name`, made when missing. */
  child(parent: number, name: string): number {
    const n = this.childCount[parent];
    if (n > WIDE) {
      const m = this.wide.get(parent)!;
      let c = m.get(name);
      if (c === undefined) {
        c = this.add(parent, name);
        m.set(name, c);
      }
      return c;
    }
    for (let c = this.firstChild[parent]; c >= 0; c = this.nextSibling[c])
      if (this.nodeName[c] === name) return c;
    const c = this.add(parent, name);
    if (n + 1 > WIDE) {
      const m = new Map<string, number>();
      for (let k = this.firstChild[parent]; k >= 0; k = this.nextSibling[k])
        m.set(this.nodeName[k], k);
      this.wide.set(parent, m);
    }
    return c;
  }

  /** Adds `v` along a root-first path of names: to every node's total, to the leaf's self. */
  addPath(path: readonly string[], v: number): void {
    let node = ROOT;
    this.totals[ROOT] += v;
    for (const name of path) {
      node = this.child(node, name);
      this.totals[node] += v;
    }
    this.selfs[node] += v;
  }

  /** The children of a node, in the order Pyroscope draws them (by name). */
  children(node: number): number[] {
    const out: number[] = [];
    for (let c = this.firstChild[node]; c >= 0; c = this.nextSibling[c]) out.push(c);
    if (out.length > 1) {
      const names = this.nodeName;
      out.sort((a, b) => compareNames(names[a], names[b]));
    }
    return out;
  }

  private add(parent: number, name: string): number {
    if (this.count === this.parent.length) this.grow();
    const n = this.count++;
    this.nodeName.push(name);
    this.parent[n] = parent;
    this.firstChild[n] = -1;
    this.childCount[n] = 0;
    this.totals[n] = 0;
    this.selfs[n] = 0;
    if (parent >= 0) {
      this.nextSibling[n] = this.firstChild[parent];
      this.firstChild[parent] = n;
      this.childCount[parent]++;
    } else this.nextSibling[n] = -1;
    return n;
  }

  private grow(): void {
    const size = this.parent.length * 2;
    const i32 = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    this.parent = i32(this.parent);
    this.firstChild = i32(this.firstChild);
    this.nextSibling = i32(this.nextSibling);
    this.childCount = i32(this.childCount);
    this.totals = f64(this.totals);
    this.selfs = f64(this.selfs);
  }
}

/** Pyroscope's order of siblings: by name, as Go compares strings (code units here). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function newTree(): CallTree {
  return new CallTree();
}

/**
 * Adds every sample of `p` to `tree`, using the value at `valueIndex`. `keep` filters samples
 * (e.g. by span id); when absent, all samples count.
 */
export function addProfile(
  tree: CallTree,
  p: Profile,
  valueIndex: number,
  keep?: (labels: ReadonlyMap<string, string>) => boolean,
): void {
  const st = p.stringTable;
  const fnName = new Map<number, string>();
  for (const f of p.function) fnName.set(f.id, st[f.name] ?? '');
  const locFrames = new Map<number, string[]>();
  for (const l of p.location) {
    // pprof lists inlined frames callee first; a stack is leaf first too
    const frames = l.line.map((ln) => fnName.get(ln.functionId) ?? '');
    if (frames.length === 0) frames.push(`0x${BigInt(l.address).toString(16)}`);
    locFrames.set(l.id, frames);
  }
  const unknown = ['?'];
  const path: string[] = [];
  for (const s of p.sample) {
    const v = toNumber(s.value[valueIndex] ?? 0);
    if (v === 0) continue;
    if (keep) {
      const labels = new Map<string, string>();
      for (const l of s.label) if (l.str !== 0) labels.set(st[l.key], st[l.str]);
      if (!keep(labels)) continue;
    }
    path.length = 0;
    for (let i = s.locationId.length - 1; i >= 0; i--) {
      const frames = locFrames.get(s.locationId[i]) ?? unknown;
      for (let j = frames.length - 1; j >= 0; j--) path.push(frames[j]);
    }
    tree.addPath(path, v);
  }
}

export function toNumber(v: Int64): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

export interface Flamegraph {
  names: string[];
  /** per level, quadruples [x offset from the previous node's end, total, self, name index] */
  levels: number[][];
  total: number;
  maxSelf: number;
}

/**
 * Renders a tree in Pyroscope's flame-graph "levels" encoding (what SelectMergeStacktraces
 * answers and Grafana's flame graph reads). Children are ordered by name and laid out after
 * their parent's self part, as Pyroscope does. Nodes beyond
 * `maxNodes` (smallest totals first) are merged into one `other` child of their parent.
 */
export function toFlamegraph(tree: CallTree, maxNodes = 0): Flamegraph {
  const minTotal = maxNodes > 0 ? pruneThreshold(tree.totals.subarray(0, tree.count), maxNodes) : 0;
  const { names, idx } = nameTable();
  const levels: number[][] = [];
  let maxSelf = 0;
  // breadth-first by level, each node placed at its absolute x; emitted as deltas. A pruned
  // group is a synthetic "other" node: id -1 - (its value's index in `others`)
  let nodes: number[] = [ROOT];
  let xs: number[] = [0];
  let others: number[] = [];
  while (nodes.length > 0) {
    const values: number[] = [];
    const nextNodes: number[] = [];
    const nextXs: number[] = [];
    const nextOthers: number[] = [];
    let prevEnd = 0;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      const x = xs[i];
      if (node < 0) {
        const v = others[-1 - node];
        values.push(x - prevEnd, v, v, idx('other'));
        prevEnd = x + v;
        maxSelf = Math.max(maxSelf, v);
        continue;
      }
      const total = tree.totals[node];
      const self = tree.selfs[node];
      values.push(x - prevEnd, total, self, idx(tree.nodeName[node]));
      prevEnd = x + total;
      maxSelf = Math.max(maxSelf, self);
      let cx = x + self; // as Pyroscope: the self part first, the children after it
      let other = 0;
      for (const k of tree.children(node)) {
        const kt = tree.totals[k];
        if (kt === 0) continue;
        if (kt < minTotal) {
          other += kt;
          continue;
        }
        nextNodes.push(k);
        nextXs.push(cx);
        cx += kt;
      }
      // pruned children become one "other" node after the kept ones, as in Pyroscope
      if (other > 0) {
        nextNodes.push(-1 - nextOthers.length);
        nextOthers.push(other);
        nextXs.push(cx);
      }
    }
    levels.push(values);
    nodes = nextNodes;
    xs = nextXs;
    others = nextOthers;
  }
  return { names, levels, total: tree.total, maxSelf };
}

/** The smallest total that keeps a node when at most `maxNodes` may be drawn (0: keep all). */
export function pruneThreshold(totals: ArrayLike<number>, maxNodes: number): number {
  if (maxNodes <= 0 || totals.length <= maxNodes) return 0;
  // ascending typed-array sort (native, no comparator): the maxNodes-th largest
  const sorted = Float64Array.from(totals).sort();
  return sorted[sorted.length - maxNodes];
}

/** The names array of a flame graph and the interning function that fills it. */
export function nameTable(): { names: string[]; idx: (name: string) => number } {
  const names: string[] = [];
  const index = new Map<string, number>();
  return {
    names,
    idx: (n) => {
      let i = index.get(n);
      if (i === undefined) {
        i = names.length;
        names.push(n);
        index.set(n, i);
      }
      return i;
    },
  };
}
