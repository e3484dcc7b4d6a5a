// Profile normalisation after Pyroscope's distributor (`pkg/pprof/pprof.go` Normalize and
// sanitizeProfile, `pkg/validation/validate.go` truncations): the steps that change a profile
// without rejecting it. All functions mutate the profile in place and return counts. The
// per-sample work runs on the flat model (flat/normalize-flat.ts); these are its `Profile` API.

import { assignFlatToProfile, profileToFlat } from './flat/flat-profile.js';
import {
  dropUnusedFlat,
  normalizeFlat,
  type NormalizeOptions,
  type NormalizeStats,
} from './flat/normalize-flat.js';
import { truncateUtf8Tail, utf8Length } from './labels.js';
import type { Int64, Profile } from './profile.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** An int64 from a bigint: wraps to 64 bits (as Go's int64 does), a number when safe. */
export function toInt64(v: bigint): Int64 {
  const w = BigInt.asIntN(64, v);
  return w <= MAX_SAFE && w >= MIN_SAFE ? Number(w) : w;
}

/** int64 addition with Go's wrap-around. */
export function addInt64(a: Int64, b: Int64): Int64 {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return toInt64(BigInt(a) + BigInt(b));
}

export function isNegative(v: Int64): boolean {
  return typeof v === 'number' ? v < 0 : v < 0n;
}

export function isPositive(v: Int64): boolean {
  return typeof v === 'number' ? v > 0 : v > 0n;
}

/**
 * Keeps at most `maxDepth` locations per sample: the ones closest to the root (pprof stores
 * leaf first, so the tail of `locationId`). Returns the number of samples truncated.
 */
export function truncateStacks(p: Profile, maxDepth: number): number {
  if (maxDepth <= 0) return 0;
  let n = 0;
  for (const s of p.sample) {
    if (s.locationId.length > maxDepth) {
      s.locationId = s.locationId.slice(s.locationId.length - maxDepth);
      n++;
    }
  }
  return n;
}

/**
 * Keeps the last `maxBytes` UTF-8 bytes of every string-table entry (Pyroscope keeps the tail,
 * which holds the most specific part of a symbol). Cuts at a character boundary, where Go cuts
 * bytes and may then reject the profile for invalid UTF-8. Returns the number of strings cut.
 */
export function truncateSymbols(p: { stringTable: string[] }, maxBytes: number): number {
  if (maxBytes <= 0) return 0;
  let n = 0;
  const st = p.stringTable;
  for (let i = 0; i < st.length; i++) {
    const s = st[i];
    if (s.length > maxBytes / 3 && utf8Length(s) > maxBytes) {
      st[i] = truncateUtf8Tail(s, maxBytes);
      n++;
    }
  }
  return n;
}

export type { NormalizeOptions, NormalizeStats } from './flat/normalize-flat.js';

/**
 * Pyroscope's Normalize: drops non-string sample labels, samples with a negative value or only
 * zero values, merges samples with the same stack and labels (summing values), repairs or drops
 * invalid references, clears addresses of symbolised mappings, then drops every location,
 * function, mapping and string no longer referenced. Sample order is first-seen order (Pyroscope
 * orders by a hash; the order carries no meaning). Runs on the flat model (`normalizeFlat`) and
 * writes the result back into `p`.
 */
export function normalizeProfile(p: Profile, opts: NormalizeOptions = {}): NormalizeStats {
  const f = profileToFlat(p);
  const stats = normalizeFlat(f, opts);
  assignFlatToProfile(p, f);
  return stats;
}

/**
 * Drops locations, functions, mappings and strings that nothing references, renumbering ids
 * (1-based, in their original order) and string indices (index 0 stays `""`). Safe to call twice.
 */
export function dropUnused(p: Profile): void {
  const f = profileToFlat(p);
  dropUnusedFlat(f);
  assignFlatToProfile(p, f);
}

/** Calls `fn` on every string-table reference of the profile, storing what it returns. */
export function visitStringRefs(p: Profile, fn: (i: number) => number): void {
  for (const vt of p.sampleType) {
    vt.type = fn(vt.type);
    vt.unit = fn(vt.unit);
  }
  if (p.periodType) {
    p.periodType.type = fn(p.periodType.type);
    p.periodType.unit = fn(p.periodType.unit);
  }
  for (const s of p.sample) {
    for (const l of s.label) {
      l.key = fn(l.key);
      l.str = fn(l.str);
      l.numUnit = fn(l.numUnit);
    }
  }
  for (const m of p.mapping) {
    m.filename = fn(m.filename);
    m.buildId = fn(m.buildId);
  }
  for (const f of p.function) {
    f.name = fn(f.name);
    f.systemName = fn(f.systemName);
    f.filename = fn(f.filename);
  }
  p.comment = p.comment.map(fn);
  p.dropFrames = fn(p.dropFrames);
  p.keepFrames = fn(p.keepFrames);
  p.defaultSampleType = fn(p.defaultSampleType);
  p.docUrl = fn(p.docUrl);
}
