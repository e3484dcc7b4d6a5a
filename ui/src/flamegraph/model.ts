import type { FlamegraphDiffJson, FlamegraphJson } from '../api';

// Pyroscope's flame graph wire form, turned into a tree. A FlameGraph lists nodes level by level
// as 4-tuples [x offset, total, self, name index]; a FlameGraphDiff as 7-tuples [x offset left,
// total left, self left, x offset right, total right, self right, name index]. Offsets are
// delta-encoded against the previous node's end on the same level (and side). A node's parent is
// the node on the level above whose span contains it.

export interface Frame {
  id: number;
  name: string;
  level: number;
  /** absolute offset and width in the profile's unit (diff: left + right) */
  x: number;
  total: number;
  self: number;
  parent: Frame | null;
  children: Frame[];
  /** diff only: baseline (left) and comparison (right) values */
  left?: { total: number; self: number };
  right?: { total: number; self: number };
}

export interface FrameTree {
  root: Frame | null;
  frames: Frame[];
  total: number;
  diff: null | { leftTicks: number; rightTicks: number };
}

const n = (v: string | number | undefined): number => (v === undefined ? 0 : Number(v));

export function treeFromFlamegraph(fg: FlamegraphJson): FrameTree {
  return build(fg, 4, (v, i, prevEnd) => {
    const x = prevEnd + n(v[i]);
    return { x, total: n(v[i + 1]), self: n(v[i + 2]), name: n(v[i + 3]), end: x + n(v[i + 1]) };
  });
}

export function treeFromDiff(fg: FlamegraphDiffJson): FrameTree {
  // the left and right offsets are delta-encoded separately; their absolute sum is the node's
  // offset in the combined (left + right) layout
  let endL = 0;
  let endR = 0;
  const t = build(fg, 7, (v, i, prevEnd, first) => {
    if (first) {
      endL = 0;
      endR = 0;
    }
    const xl = endL + n(v[i]);
    const xr = endR + n(v[i + 3]);
    const lt = n(v[i + 1]);
    const rt = n(v[i + 4]);
    endL = xl + lt;
    endR = xr + rt;
    void prevEnd;
    return {
      x: xl + xr,
      total: lt + rt,
      self: n(v[i + 2]) + n(v[i + 5]),
      name: n(v[i + 6]),
      end: xl + xr + lt + rt,
      left: { total: lt, self: n(v[i + 2]) },
      right: { total: rt, self: n(v[i + 5]) },
    };
  });
  t.diff = { leftTicks: n(fg.leftTicks), rightTicks: n(fg.rightTicks) };
  return t;
}

interface Decoded {
  x: number;
  total: number;
  self: number;
  name: number;
  end: number;
  left?: { total: number; self: number };
  right?: { total: number; self: number };
}

function build(
  fg: FlamegraphJson,
  width: number,
  decode: (v: (string | number)[], i: number, prevEnd: number, first: boolean) => Decoded,
): FrameTree {
  const frames: Frame[] = [];
  let above: Frame[] = [];
  fg.levels.forEach((level, depth) => {
    const v = level.values ?? [];
    const row: Frame[] = [];
    let prevEnd = 0;
    let p = 0;
    for (let i = 0; i + width <= v.length; i += width) {
      const d = decode(v, i, prevEnd, i === 0);
      prevEnd = d.end;
      while (p < above.length && above[p].x + above[p].total <= d.x && above[p].total > 0) p++;
      const parent = depth === 0 ? null : (above[p] ?? null);
      if (depth > 0 && !parent) continue; // malformed: no containing node above
      const f: Frame = {
        id: frames.length,
        name: fg.names[d.name] ?? `#${d.name}`,
        level: depth,
        x: d.x,
        total: d.total,
        self: d.self,
        parent,
        children: [],
        ...(d.left ? { left: d.left, right: d.right } : {}),
      };
      parent?.children.push(f);
      frames.push(f);
      row.push(f);
    }
    above = row;
  });
  const root = frames.find((f) => f.level === 0) ?? null;
  return { root, frames, total: root?.total ?? n(fg.total), diff: null };
}

export interface FunctionRow {
  name: string;
  self: number;
  /** counted once per stack, however often the function recurses in it */
  total: number;
  left?: { self: number; total: number };
  right?: { self: number; total: number };
}

/** Self and total per function name over a (sub)tree. */
export function topFunctions(root: Frame | null): FunctionRow[] {
  const rows = new Map<string, FunctionRow>();
  if (!root) return [];
  const onPath = new Map<string, number>();
  const visit = (f: Frame): void => {
    let row = rows.get(f.name);
    if (!row) {
      row = { name: f.name, self: 0, total: 0 };
      if (f.left) {
        row.left = { self: 0, total: 0 };
        row.right = { self: 0, total: 0 };
      }
      rows.set(f.name, row);
    }
    row.self += f.self;
    if (row.left && f.left && f.right && row.right) {
      row.left.self += f.left.self;
      row.right.self += f.right.self;
    }
    const depth = onPath.get(f.name) ?? 0;
    if (depth === 0) {
      row.total += f.total;
      if (row.left && f.left && f.right && row.right) {
        row.left.total += f.left.total;
        row.right.total += f.right.total;
      }
    }
    onPath.set(f.name, depth + 1);
    f.children.forEach(visit);
    onPath.set(f.name, depth);
  };
  // the synthetic root ("total") is not a function
  if (root.level === 0 && root.name === 'total') root.children.forEach(visit);
  else visit(root);
  return [...rows.values()];
}

/** The frame chain from the root down to f. */
export function pathTo(f: Frame): Frame[] {
  const out: Frame[] = [];
  for (let c: Frame | null = f; c; c = c.parent) out.unshift(c);
  return out;
}

/**
 * Relative change of a diff frame, as the share of its side's total: (right% - left%) / left%.
 * +Infinity for a frame only in the comparison; -1 for one only in the baseline.
 */
export function diffChange(f: Frame, diff: { leftTicks: number; rightTicks: number }): number {
  const l = diff.leftTicks > 0 ? (f.left?.total ?? 0) / diff.leftTicks : 0;
  const r = diff.rightTicks > 0 ? (f.right?.total ?? 0) / diff.rightTicks : 0;
  if (l === 0) return r === 0 ? 0 : Infinity;
  return (r - l) / l;
}
