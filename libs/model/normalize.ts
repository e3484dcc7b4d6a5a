// Profile normalisation after Pyroscope's distributor (`pkg/pprof/pprof.go` Normalize and
// sanitizeProfile, `pkg/validation/validate.go` truncations): the steps that change a profile
// without rejecting it. All functions mutate the profile in place and return counts.

import { truncateUtf8Tail, utf8Length } from './labels.js';
import type { Int64, Location, Profile, Sample } from './profile.js';

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
export function truncateSymbols(p: Profile, maxBytes: number): number {
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

export interface NormalizeStats {
  samplesTotal: number;
  sampleValueNegative: number;
  sampleValueZero: number;
  sampleDuplicate: number;
  /** samples removed for a value-count mismatch or an invalid location reference */
  sampleInvalid: number;
  /** locations removed: empty, or with an invalid mapping/function reference */
  locationInvalid: number;
}

export interface NormalizeOptions {
  /** replaces a `timeNanos` of 0 (Pyroscope uses the server clock) */
  nowNanos?: Int64;
}

/**
 * Pyroscope's Normalize: drops non-string sample labels, samples with a negative value or only
 * zero values, merges samples with the same stack and labels (summing values), repairs or drops
 * invalid references, clears addresses of symbolised mappings, then drops every location,
 * function, mapping and string no longer referenced. Sample order is first-seen order (Pyroscope
 * orders by a hash; the order carries no meaning).
 */
export function normalizeProfile(p: Profile, opts: NormalizeOptions = {}): NormalizeStats {
  const stats: NormalizeStats = {
    samplesTotal: p.sample.length,
    sampleValueNegative: 0,
    sampleValueZero: 0,
    sampleDuplicate: 0,
    sampleInvalid: 0,
    locationInvalid: 0,
  };
  if (opts.nowNanos !== undefined && (p.timeNanos === 0 || p.timeNanos === 0n)) {
    p.timeNanos = opts.nowNanos;
  }
  sanitizeReferences(p, stats);

  const kept: Sample[] = [];
  const byKey = new Map<string, Sample>();
  for (const s of p.sample) {
    s.label = s.label.filter((l) => l.str !== 0);
    if (s.value.some(isNegative)) {
      stats.sampleValueNegative++;
      continue;
    }
    if (!s.value.some(isPositive)) {
      stats.sampleValueZero++;
      continue;
    }
    s.label.sort((a, b) => a.key - b.key || a.str - b.str);
    let key = s.locationId.join(',');
    if (s.label.length > 0) key += '|' + s.label.map((l) => `${l.key}=${l.str}`).join(',');
    const prev = byKey.get(key);
    if (prev) {
      for (let j = 0; j < prev.value.length; j++)
        prev.value[j] = addInt64(prev.value[j], s.value[j]);
      stats.sampleDuplicate++;
      continue;
    }
    byKey.set(key, s);
    kept.push(s);
  }
  p.sample = kept;
  clearAddresses(p);
  dropUnused(p);
  return stats;
}

function clearAddresses(p: Profile): void {
  const symbolised = new Set<number>();
  for (const m of p.mapping) {
    if (m.hasFunctions) {
      m.memoryStart = 0;
      m.memoryLimit = 0;
      m.fileOffset = 0;
      symbolised.add(m.id);
    }
  }
  for (const l of p.location) if (symbolised.has(l.mappingId)) l.address = 0;
}

/** `sanitizeProfile`: out-of-range string refs → 0, ids renumbered 1..n, invalid refs dropped. */
function sanitizeReferences(p: Profile, stats: NormalizeStats): void {
  const st = p.stringTable;
  let z = st.indexOf('');
  if (z === -1) {
    z = st.length;
    st.push('');
  }
  if (z !== 0) [st[0], st[z]] = [st[z], st[0]];
  const ms = st.length;
  const str = (i: number): number => {
    if (i === 0 && z > 0) return z;
    if (i === z || i >= ms || i < 0 || !Number.isInteger(i)) return 0;
    return i;
  };
  for (const vt of p.sampleType) {
    vt.type = str(vt.type);
    vt.unit = str(vt.unit);
  }
  if (p.periodType) {
    p.periodType.type = str(p.periodType.type);
    p.periodType.unit = str(p.periodType.unit);
  }
  p.defaultSampleType = str(p.defaultSampleType);
  p.dropFrames = str(p.dropFrames);
  p.keepFrames = str(p.keepFrames);
  p.docUrl = str(p.docUrl);
  p.comment = p.comment.map(str);

  const mappingIds = new Map<number, number>();
  p.mapping.forEach((m, i) => {
    m.buildId = str(m.buildId);
    m.filename = str(m.filename);
    mappingIds.set(m.id, i + 1);
    m.id = i + 1;
  });
  let stub = 0;
  p.location = p.location.filter((l) => {
    if (l.line.length === 0 && (l.address === 0 || l.address === 0n)) {
      stats.locationInvalid++;
      return false;
    }
    if (l.mappingId === 0) {
      if (stub === 0) {
        stub = p.mapping.length + 1;
        p.mapping.push({
          id: stub,
          memoryStart: 0,
          memoryLimit: 0,
          fileOffset: 0,
          filename: 0,
          buildId: 0,
          hasFunctions: false,
          hasFilenames: false,
          hasLineNumbers: false,
          hasInlineFrames: false,
        });
      }
      l.mappingId = stub;
      return true;
    }
    const mid = mappingIds.get(l.mappingId);
    if (mid === undefined) {
      stats.locationInvalid++;
      return false;
    }
    l.mappingId = mid;
    return true;
  });

  const functionIds = new Map<number, number>();
  p.function.forEach((f, i) => {
    f.name = str(f.name);
    f.systemName = str(f.systemName);
    f.filename = str(f.filename);
    functionIds.set(f.id, i + 1);
    f.id = i + 1;
  });
  p.location = p.location.filter((l) => {
    for (const line of l.line) {
      const fid = functionIds.get(line.functionId);
      if (fid === undefined) {
        stats.locationInvalid++;
        return false;
      }
      line.functionId = fid;
    }
    return true;
  });

  const locationIds = new Map<number, number>();
  p.location.forEach((l, i) => {
    locationIds.set(l.id, i + 1);
    l.id = i + 1;
  });
  const vs = p.sampleType.length;
  p.sample = p.sample.filter((s) => {
    if (s.value.length !== vs) {
      stats.sampleInvalid++;
      return false;
    }
    for (let i = 0; i < s.locationId.length; i++) {
      const lid = locationIds.get(s.locationId[i]);
      if (lid === undefined) {
        stats.sampleInvalid++;
        return false;
      }
      s.locationId[i] = lid;
    }
    for (const l of s.label) {
      l.key = str(l.key);
      l.str = str(l.str);
      l.numUnit = str(l.numUnit);
    }
    return true;
  });
}

/**
 * Drops locations, functions, mappings and strings that nothing references, renumbering ids
 * (1-based, in their original order) and string indices (index 0 stays `""`). Safe to call twice.
 */
export function dropUnused(p: Profile): void {
  const usedLoc = new Set<number>();
  for (const s of p.sample) for (const id of s.locationId) usedLoc.add(id);
  const locations: Location[] = p.location.filter((l) => usedLoc.has(l.id));
  const locIds = new Map<number, number>();
  locations.forEach((l, i) => {
    locIds.set(l.id, i + 1);
    l.id = i + 1;
  });
  for (const s of p.sample) s.locationId = s.locationId.map((id) => locIds.get(id) ?? 0);
  p.location = locations;

  const usedFn = new Set<number>();
  const usedMap = new Set<number>();
  for (const l of locations) {
    usedMap.add(l.mappingId);
    for (const line of l.line) usedFn.add(line.functionId);
  }
  const fnIds = new Map<number, number>();
  p.function = p.function.filter((f) => usedFn.has(f.id));
  p.function.forEach((f, i) => {
    fnIds.set(f.id, i + 1);
    f.id = i + 1;
  });
  const mapIds = new Map<number, number>();
  p.mapping = p.mapping.filter((m) => usedMap.has(m.id));
  p.mapping.forEach((m, i) => {
    mapIds.set(m.id, i + 1);
    m.id = i + 1;
  });
  for (const l of locations) {
    l.mappingId = mapIds.get(l.mappingId) ?? 0;
    for (const line of l.line) line.functionId = fnIds.get(line.functionId) ?? 0;
  }

  const st = p.stringTable;
  const used = new Uint8Array(st.length);
  used[0] = 1;
  const mark = (i: number): void => {
    if (i > 0 && i < st.length) used[i] = 1;
  };
  visitStringRefs(p, (i) => {
    mark(i);
    return i;
  });
  const remap = new Int32Array(st.length);
  const table: string[] = [];
  for (let i = 0; i < st.length; i++) {
    if (used[i]) {
      remap[i] = table.length;
      table.push(st[i]);
    }
  }
  if (table.length === st.length) return;
  p.stringTable = table;
  visitStringRefs(p, (i) => (i > 0 && i < st.length ? remap[i] : 0));
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
