import { canonicalSpanId } from '../../model/index.js';
import type { CompactProfile, StackPredicate } from './compact-profile.js';

// Which spans have profiles, from the compact form of stored profiles (compact-profile.ts keeps
// the canonical span_id of each stack). Two questions the web UI asks to link traces and
// profiles both ways: "which of this trace's span ids occur in some profile" (a set lookup per
// stack) and "which span ids carry the most value in this selection" (a sum per span id). Both
// are linear in the stacks of the profiles read; the caller bounds how many profiles that is
// (a time range, a selector).

/**
 * Adds to `found` every id of `wanted` that labels a stack of `c` with a non-zero value in any
 * column. Rows stored before span ids were checked may hold a span_id that is none: skipped.
 */
export function collectSpanIds(
  c: CompactProfile,
  wanted: ReadonlySet<string>,
  found: Set<string>,
): void {
  const types = c.sampleTypes.length;
  for (let i = 0; i < c.spans.length; i++) {
    if (c.spans[i] < 0) continue;
    const id = canonicalSpanId(c.names[c.spans[i]]);
    if (id === undefined || !wanted.has(id) || found.has(id)) continue;
    for (let t = 0; t < types; t++) {
      if (c.values[i * types + t] !== 0) {
        found.add(id);
        break;
      }
    }
  }
}

/** Adds the value of `column` of each span-labelled stack of `c` (kept by `keep`) to its span id. */
export function addSpanValues(
  c: CompactProfile,
  column: number,
  totals: Map<string, number>,
  keep?: StackPredicate,
): void {
  const types = c.sampleTypes.length;
  for (let i = 0; i < c.spans.length; i++) {
    if (c.spans[i] < 0) continue;
    const v = c.values[i * types + column];
    if (v === 0 || (keep && !keep(c, i))) continue;
    const id = canonicalSpanId(c.names[c.spans[i]]);
    if (id === undefined) continue;
    totals.set(id, (totals.get(id) ?? 0) + v);
  }
}

/** The `limit` largest totals, largest first; equal values by span id (a stable answer). */
export function topSpanValues(
  totals: ReadonlyMap<string, number>,
  limit: number,
): { spanId: string; value: number }[] {
  return [...totals.entries()]
    .map(([spanId, value]) => ({ spanId, value }))
    .sort((a, b) => b.value - a.value || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0))
    .slice(0, Math.max(0, limit));
}
