import type { Int64, Profile } from '../../model/index.js';

// A call tree merged from many profiles: the shape every flame-graph style answer is built from.
// Frames are function names (the first line of each location, inlined frames expanded), root
// first. Values are summed as numbers: flame graphs are for eyes, and per-node totals above 2^53
// are not a practical concern there.

export interface TreeNode {
  name: string;
  self: number;
  total: number;
  children: Map<string, TreeNode>;
}

export function newTree(): TreeNode {
  return { name: 'total', self: 0, total: 0, children: new Map() };
}

/**
 * Adds every sample of `p` to `tree`, using the value at `valueIndex`. `keep` filters samples
 * (e.g. by span id); when absent, all samples count.
 */
export function addProfile(
  tree: TreeNode,
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
  for (const s of p.sample) {
    const v = toNumber(s.value[valueIndex] ?? 0);
    if (v === 0) continue;
    if (keep) {
      const labels = new Map<string, string>();
      for (const l of s.label) if (l.str !== 0) labels.set(st[l.key], st[l.str]);
      if (!keep(labels)) continue;
    }
    let node = tree;
    node.total += v;
    for (let i = s.locationId.length - 1; i >= 0; i--) {
      const frames = locFrames.get(s.locationId[i]) ?? ['?'];
      for (let j = frames.length - 1; j >= 0; j--) {
        const name = frames[j];
        let child = node.children.get(name);
        if (!child) {
          child = { name, self: 0, total: 0, children: new Map() };
          node.children.set(name, child);
        }
        child.total += v;
        node = child;
      }
    }
    node.self += v;
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
export function toFlamegraph(tree: TreeNode, maxNodes = 0): Flamegraph {
  let minTotal = 0;
  if (maxNodes > 0) {
    const totals: number[] = [];
    const collect = (n: TreeNode): void => {
      totals.push(n.total);
      n.children.forEach(collect);
    };
    collect(tree);
    minTotal = pruneThreshold(totals, maxNodes);
  }
  const { names, idx } = nameTable();
  const levels: number[][] = [];
  let maxSelf = 0;
  // breadth-first by level, each node placed at its absolute x; emitted as deltas
  let current: { node: TreeNode; x: number }[] = [{ node: tree, x: 0 }];
  while (current.length > 0) {
    const values: number[] = [];
    const next: { node: TreeNode; x: number }[] = [];
    let prevEnd = 0;
    for (const { node, x } of current) {
      values.push(x - prevEnd, node.total, node.self, idx(node.name));
      prevEnd = x + node.total;
      maxSelf = Math.max(maxSelf, node.self);
      let cx = x + node.self; // as Pyroscope: the self part first, the children after it
      const kids = [...node.children.values()].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
      let other = 0;
      for (const k of kids) {
        if (k.total === 0) continue;
        if (k.total < minTotal) {
          other += k.total;
          continue;
        }
        next.push({ node: k, x: cx });
        cx += k.total;
      }
      // pruned children become one "other" node after the kept ones, as in Pyroscope
      if (other > 0) {
        next.push({
          node: { name: 'other', self: other, total: other, children: new Map() },
          x: cx,
        });
      }
    }
    levels.push(values);
    current = next;
  }
  return { names, levels, total: tree.total, maxSelf };
}

/** The smallest total that keeps a node when at most `maxNodes` may be drawn (0: keep all). */
export function pruneThreshold(totals: number[], maxNodes: number): number {
  if (maxNodes <= 0 || totals.length <= maxNodes) return 0;
  totals.sort((a, b) => b - a);
  return totals[maxNodes - 1];
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
