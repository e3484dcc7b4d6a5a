import { ROOT, compareNames, nameTable, pruneThreshold, type CallTree } from './stack-tree.js';

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

/** Nodes of the two trees are aligned by name; -1 stands for a node missing on one side. */
export function toFlamegraphDiff(left: CallTree, right: CallTree, maxNodes = 0): FlamegraphDiff {
  const total = (t: CallTree, n: number): number => (n < 0 ? 0 : t.totals[n]);
  const self = (t: CallTree, n: number): number => (n < 0 ? 0 : t.selfs[n]);
  let minTotal = 0;
  if (maxNodes > 0) {
    const totals: number[] = [];
    const collect = (l: number, r: number): void => {
      totals.push(Math.max(total(left, l), total(right, r)));
      for (const [cl, cr] of alignedChildren(left, l, right, r)) collect(cl, cr);
    };
    collect(ROOT, ROOT);
    minTotal = pruneThreshold(totals, maxNodes);
  }
  const { names, idx } = nameTable();
  const levels: number[][] = [];
  let maxSelf = 0;
  type Pos = { l: number; r: number; xl: number; xr: number };
  let current: Pos[] = [{ l: ROOT, r: ROOT, xl: 0, xr: 0 }];
  while (current.length > 0) {
    const values: number[] = [];
    const next: Pos[] = [];
    let endL = 0;
    let endR = 0;
    for (const p of current) {
      const lt = total(left, p.l);
      const ls = self(left, p.l);
      const rt = total(right, p.r);
      const rs = self(right, p.r);
      const name = p.l >= 0 ? left.nodeName[p.l] : right.nodeName[p.r];
      values.push(p.xl - endL, lt, ls, p.xr - endR, rt, rs, idx(name));
      endL = p.xl + lt;
      endR = p.xr + rt;
      maxSelf = Math.max(maxSelf, ls, rs);
      let cl = p.xl + ls; // self first, then children (Pyroscope)
      let cr = p.xr + rs;
      for (const [l, r] of alignedChildren(left, p.l, right, p.r)) {
        const a = total(left, l);
        const b = total(right, r);
        if ((a !== 0 || b !== 0) && Math.max(a, b) >= minTotal) {
          next.push({ l, r, xl: cl, xr: cr });
        }
        cl += a;
        cr += b;
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

/** The union of two nodes' children by name, ordered by name: [left or -1, right or -1]. */
function alignedChildren(
  left: CallTree,
  l: number,
  right: CallTree,
  r: number,
): [number, number][] {
  const byName = new Map<string, [number, number]>();
  if (l >= 0) for (const c of left.children(l)) byName.set(left.nodeName[c], [c, -1]);
  if (r >= 0) {
    for (const c of right.children(r)) {
      const pair = byName.get(right.nodeName[c]);
      if (pair) pair[1] = c;
      else byName.set(right.nodeName[c], [-1, c]);
    }
  }
  return [...byName.entries()].sort((a, b) => compareNames(a[0], b[0])).map(([, pair]) => pair);
}
