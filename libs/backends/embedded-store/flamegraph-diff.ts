import { nameTable, pruneThreshold, type TreeNode } from './stack-tree.js';

// Pyroscope's diff flame graph (querier.v1.FlameGraphDiff): two trees aligned node by node
// (children unioned by name, a missing side counting 0), written level by level as 7-tuples
//   [x offset left, total left, self left, x offset right, total right, self right, name index]
// with both x offsets delta-encoded against the previous node's end on their own side, as
// Pyroscope's `NewFlamegraphDiff` does. Children are ordered by name and laid out after the
// node's self part on each side; with maxNodes, nodes whose
// total is below the threshold on both sides are left out (their value stays in the parent).

export interface FlamegraphDiff {
  names: string[];
  levels: number[][];
  total: number;
  maxSelf: number;
  leftTicks: number;
  rightTicks: number;
}

const EMPTY: TreeNode = { name: '', self: 0, total: 0, children: new Map() };

export function toFlamegraphDiff(left: TreeNode, right: TreeNode, maxNodes = 0): FlamegraphDiff {
  let minTotal = 0;
  if (maxNodes > 0) {
    const totals: number[] = [];
    const collect = (l: TreeNode, r: TreeNode): void => {
      totals.push(Math.max(l.total, r.total));
      for (const name of childNames(l, r)) {
        collect(l.children.get(name) ?? EMPTY, r.children.get(name) ?? EMPTY);
      }
    };
    collect(left, right);
    minTotal = pruneThreshold(totals, maxNodes);
  }
  const { names, idx } = nameTable();
  const levels: number[][] = [];
  let maxSelf = 0;
  type Pos = { l: TreeNode; r: TreeNode; xl: number; xr: number; name: string };
  let current: Pos[] = [{ l: left, r: right, xl: 0, xr: 0, name: 'total' }];
  while (current.length > 0) {
    const values: number[] = [];
    const next: Pos[] = [];
    let endL = 0;
    let endR = 0;
    for (const p of current) {
      values.push(p.xl - endL, p.l.total, p.l.self, p.xr - endR, p.r.total, p.r.self, idx(p.name));
      endL = p.xl + p.l.total;
      endR = p.xr + p.r.total;
      maxSelf = Math.max(maxSelf, p.l.self, p.r.self);
      let cl = p.xl + p.l.self; // self first, then children (Pyroscope)
      let cr = p.xr + p.r.self;
      for (const name of childNames(p.l, p.r)) {
        const l = p.l.children.get(name) ?? EMPTY;
        const r = p.r.children.get(name) ?? EMPTY;
        if ((l.total !== 0 || r.total !== 0) && Math.max(l.total, r.total) >= minTotal) {
          next.push({ l, r, xl: cl, xr: cr, name });
        }
        cl += l.total;
        cr += r.total;
      }
    }
    levels.push(values);
    current = next;
  }
  return {
    names,
    levels,
    total: left.total + right.total,
    maxSelf,
    leftTicks: left.total,
    rightTicks: right.total,
  };
}

function childNames(l: TreeNode, r: TreeNode): string[] {
  const s = new Set<string>(l.children.keys());
  for (const k of r.children.keys()) s.add(k);
  return [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
