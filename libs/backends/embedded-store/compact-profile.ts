import { deserialize, serialize } from 'node:v8';
import type { Profile } from '../../model/index.js';
import { toNumber, type TreeNode } from './stack-tree.js';

// The query-side form of a stored profile, computed once when the series is written: the stacks
// already symbolised (function names, inlined frames expanded, root first), identical stacks
// merged, one value column per sample type, and the span_id of each stack when it has one. A
// query then merges arrays instead of decoding pprof: decoding is the dominant cost of a merge
// (research/performance.md: pprof decode at tens of MB/s against millions of tree steps/s), and
// a flame-graph query reads the same profiles again and again.
//
// Stored as a V8-serialised object (typed arrays deserialise without per-element work).

export interface CompactProfile {
  v: 1;
  names: string[];
  /** [type, unit] per value column */
  sampleTypes: [string, string][];
  period: number;
  /** profile time, ms since epoch (0 = unknown) */
  timeMs: number;
  /** stack i spans frames[offsets[i] .. offsets[i+1]) */
  offsets: Int32Array;
  /** name indices, root first */
  frames: Int32Array;
  /** values[i * sampleTypes.length + t] */
  values: Float64Array;
  /** name index of the stack's span_id, -1 when none */
  spans: Int32Array;
}

export function compactProfile(p: Profile): CompactProfile {
  const st = p.stringTable;
  const names: string[] = [];
  const nameIdx = new Map<string, number>();
  const intern = (s: string): number => {
    let i = nameIdx.get(s);
    if (i === undefined) {
      i = names.length;
      names.push(s);
      nameIdx.set(s, i);
    }
    return i;
  };
  const fnName = new Map<number, number>();
  for (const f of p.function) fnName.set(f.id, intern(st[f.name] ?? ''));
  // frames of each location, root-most first (pprof lists inlined frames callee first)
  const locFrames = new Map<number, number[]>();
  for (const l of p.location) {
    const frames = l.line.map((ln) => fnName.get(ln.functionId) ?? intern('')).reverse();
    if (frames.length === 0) frames.push(intern(`0x${BigInt(l.address).toString(16)}`));
    locFrames.set(l.id, frames);
  }
  const unknown = [intern('?')];
  const spanKey = st.indexOf('span_id');
  const types = p.sampleType.length;
  const byStack = new Map<string, number>();
  const offsets: number[] = [0];
  const frames: number[] = [];
  const values: number[] = [];
  const spans: number[] = [];
  for (const s of p.sample) {
    const path: number[] = [];
    for (let i = s.locationId.length - 1; i >= 0; i--) {
      for (const f of locFrames.get(s.locationId[i]) ?? unknown) path.push(f);
    }
    let span = -1;
    if (spanKey > 0) {
      const l = s.label.find((x) => x.key === spanKey && x.str !== 0);
      if (l) span = intern(st[l.str]);
    }
    const key = `${span}|${path.join(',')}`;
    let idx = byStack.get(key);
    if (idx === undefined) {
      idx = spans.length;
      byStack.set(key, idx);
      for (const f of path) frames.push(f);
      offsets.push(frames.length);
      spans.push(span);
      for (let t = 0; t < types; t++) values.push(0);
    }
    for (let t = 0; t < types; t++) values[idx * types + t] += toNumber(s.value[t] ?? 0);
  }
  // exact: nanoseconds since the epoch exceed 2^53, so divide before converting
  const timeMs =
    typeof p.timeNanos === 'bigint'
      ? Number(p.timeNanos / 1_000_000n)
      : Math.floor(p.timeNanos / 1e6);
  return {
    v: 1,
    names,
    sampleTypes: p.sampleType.map((vt) => [st[vt.type] ?? '', st[vt.unit] ?? '']),
    period: toNumber(p.period),
    timeMs: timeMs > 0 ? timeMs : 0,
    offsets: Int32Array.from(offsets),
    frames: Int32Array.from(frames),
    values: Float64Array.from(values),
    spans: Int32Array.from(spans),
  };
}

export function encodeCompact(c: CompactProfile): Buffer {
  return serialize(c);
}

export function decodeCompact(b: Buffer): CompactProfile {
  const c = deserialize(b) as CompactProfile;
  if (c?.v !== 1) throw new Error('unknown compact profile version');
  return c;
}

/** The value column of a [type, unit] pair, -1 when the profile has none. */
export function valueColumn(c: CompactProfile, sampleType: string, sampleUnit: string): number {
  return c.sampleTypes.findIndex(([t, u]) => t === sampleType && u === sampleUnit);
}

/** Which stacks of a profile a query keeps; undefined = all. */
export type StackPredicate = (c: CompactProfile, stack: number) => boolean;

/**
 * The stack filter of a query: `spans` keeps stacks whose span_id is listed
 * (SelectMergeSpanProfile); `callSite` keeps stacks that start, from the root, with these frames
 * (types.v1.StackTraceSelector.call_site).
 */
export function stackFilter(f: {
  spans?: readonly string[];
  callSite?: readonly string[];
}): StackPredicate | undefined {
  const spans = f.spans && f.spans.length > 0 ? new Set(f.spans) : undefined;
  const site = f.callSite && f.callSite.length > 0 ? f.callSite : undefined;
  if (!spans && !site) return undefined;
  return (c, i) => {
    if (spans && !spans.has(c.spans[i] >= 0 ? c.names[c.spans[i]] : '')) return false;
    if (site) {
      const start = c.offsets[i];
      if (c.offsets[i + 1] - start < site.length) return false;
      for (let k = 0; k < site.length; k++)
        if (c.names[c.frames[start + k]] !== site[k]) return false;
    }
    return true;
  };
}

/** Sum of one value column over the kept stacks (SelectSeries points). */
export function columnTotal(c: CompactProfile, column: number, keep?: StackPredicate): number {
  const types = c.sampleTypes.length;
  let sum = 0;
  for (let i = 0; i < c.spans.length; i++) {
    if (keep && !keep(c, i)) continue;
    sum += c.values[i * types + column];
  }
  return sum;
}

/** Adds every kept stack of `c` to `tree` with the value of `column`. */
export function addCompact(
  tree: TreeNode,
  c: CompactProfile,
  column: number,
  keep?: StackPredicate,
): void {
  const types = c.sampleTypes.length;
  const { names, offsets, frames, values, spans } = c;
  for (let i = 0; i < spans.length; i++) {
    const v = values[i * types + column];
    if (v === 0) continue;
    if (keep && !keep(c, i)) continue;
    let node = tree;
    node.total += v;
    for (let j = offsets[i], end = offsets[i + 1]; j < end; j++) {
      const name = names[frames[j]];
      let child = node.children.get(name);
      if (!child) {
        child = { name, self: 0, total: 0, children: new Map() };
        node.children.set(name, child);
      }
      child.total += v;
      node = child;
    }
    node.self += v;
  }
}
