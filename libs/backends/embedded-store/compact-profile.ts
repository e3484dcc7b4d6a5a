import { canonicalSpanId, type CompactProfile } from '../../model/index.js';
import { ROOT, type CallTree } from './stack-tree.js';

// The query side of the stored compact form. The form itself and its codec live in the model
// (model/compact/compact-profile.ts), so that a decode worker can build it without this library.
export {
  compactFlat,
  compactProfile,
  decodeCompact,
  encodeCompact,
  type CompactProfile,
} from '../../model/index.js';

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
  // ids compare as numbers in Pyroscope: case does not matter
  const spans =
    f.spans && f.spans.length > 0 ? new Set(f.spans.map((x) => x.toLowerCase())) : undefined;
  const site = f.callSite && f.callSite.length > 0 ? f.callSite : undefined;
  if (!spans && !site) return undefined;
  return (c, i) => {
    if (spans && !spans.has(c.spans[i] >= 0 ? (canonicalSpanId(c.names[c.spans[i]]) ?? '') : ''))
      return false;
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
  tree: CallTree,
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
    let node = ROOT;
    tree.totals[ROOT] += v;
    for (let j = offsets[i], end = offsets[i + 1]; j < end; j++) {
      node = tree.child(node, names[frames[j]]);
      tree.totals[node] += v;
    }
    tree.selfs[node] += v;
  }
}
