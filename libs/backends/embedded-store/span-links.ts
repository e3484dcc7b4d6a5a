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
  // stacks share their span's name index: decide each index once (-1 unknown, 0 no, 1 wanted)
  const verdict = new Int8Array(c.names.length).fill(-1);
  for (let i = 0; i < c.spans.length; i++) {
    const n = c.spans[i];
    if (n < 0) continue;
    if (verdict[n] < 0) {
      const id = canonicalSpanId(c.names[n]);
      verdict[n] = id !== undefined && wanted.has(id) && !found.has(id) ? 1 : 0;
    }
    if (verdict[n] === 0) continue;
    for (let t = 0; t < types; t++) {
      if (c.values[i * types + t] !== 0) {
        found.add(canonicalSpanId(c.names[n])!);
        verdict[n] = 0;
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
  // summed per name index first (stacks share their span's), then once per distinct span
  const sums = new Float64Array(c.names.length);
  const touched: number[] = [];
  for (let i = 0; i < c.spans.length; i++) {
    const n = c.spans[i];
    if (n < 0) continue;
    const v = c.values[i * types + column];
    if (v === 0 || (keep && !keep(c, i))) continue;
    if (sums[n] === 0) touched.push(n);
    sums[n] += v;
  }
  for (const n of touched) {
    const id = canonicalSpanId(c.names[n]);
    if (id === undefined || sums[n] === 0) continue;
    totals.set(id, (totals.get(id) ?? 0) + sums[n]);
  }
}

/**
 * The `limit` largest totals, largest first; equal values by span id (a stable answer). One pass
 * keeping the best `limit` in order: a selection has up to hundreds of thousands of span ids and
 * the list wants tens.
 */
export function topSpanValues(
  totals: ReadonlyMap<string, number>,
  limit: number,
): { spanId: string; value: number }[] {
  const top: { spanId: string; value: number }[] = [];
  if (limit <= 0) return top;
  // a before b in the answer
  const before = (av: number, aid: string, b: { spanId: string; value: number }): boolean =>
    av > b.value || (av === b.value && aid < b.spanId);
  for (const [spanId, value] of totals) {
    if (top.length === limit && !before(value, spanId, top[top.length - 1])) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(value, spanId, top[mid])) hi = mid;
      else lo = mid + 1;
    }
    top.splice(lo, 0, { spanId, value });
    if (top.length > limit) top.pop();
  }
  return top;
}
