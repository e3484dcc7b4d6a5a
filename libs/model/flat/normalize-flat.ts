// Pyroscope's Normalize and sanitizeProfile (`pkg/pprof/pprof.go`) on the flat model: the same
// steps, in the same order and with the same outcome as they had on `Profile` objects (see
// ../normalize.ts, whose functions now run through these), with integer hashing where the
// object version keyed maps on strings.

import type { Int64, Mapping } from '../profile.js';
import {
  addInt64At,
  copyInt64,
  type FlatProfile,
  type FlatSamples,
  type Int64Column,
} from './flat-profile.js';
import { idMapFor, idMapUpTo, type IdMap } from './id-map.js';

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
 * Keeps at most `maxDepth` locations per sample: the ones closest to the root (pprof stores
 * leaf first, so the tail of each stack). Returns the number of samples truncated.
 */
export function truncateStacksFlat(f: FlatProfile, maxDepth: number): number {
  if (maxDepth <= 0) return 0;
  const s = f.samples;
  let n = 0;
  for (let i = 0; i < s.count; i++) {
    if (s.locStart[i + 1] - s.locStart[i] > maxDepth) {
      n++;
      break;
    }
  }
  if (n === 0) return 0;
  n = 0;
  const { locStart, loc } = s;
  let out = 0;
  let start = locStart[0];
  for (let i = 0; i < s.count; i++) {
    const end = locStart[i + 1];
    let from = start;
    if (end - start > maxDepth) {
      from = end - maxDepth;
      n++;
    }
    locStart[i] = out;
    for (let k = from; k < end; k++) loc[out++] = loc[k];
    start = end;
  }
  locStart[s.count] = out;
  return n;
}

const isNeg = (c: Int64Column, k: number): boolean => {
  const x = c.v[k];
  return x === x ? x < 0 : (c.big as Map<number, bigint>).get(k)! < 0n;
};
const isPos = (c: Int64Column, k: number): boolean => {
  const x = c.v[k];
  return x === x ? x > 0 : (c.big as Map<number, bigint>).get(k)! > 0n;
};

/**
 * Pyroscope's Normalize: drops non-string sample labels, samples with a negative value or only
 * zero values, merges samples with the same stack and labels (summing values), repairs or drops
 * invalid references, clears addresses of symbolised mappings, then drops every location,
 * function, mapping and string no longer referenced. Sample order is first-seen order.
 */
export function normalizeFlat(f: FlatProfile, opts: NormalizeOptions = {}): NormalizeStats {
  const stats: NormalizeStats = {
    samplesTotal: f.samples.count,
    sampleValueNegative: 0,
    sampleValueZero: 0,
    sampleDuplicate: 0,
    sampleInvalid: 0,
    locationInvalid: 0,
  };
  if (opts.nowNanos !== undefined && (f.timeNanos === 0 || f.timeNanos === 0n)) {
    f.timeNanos = opts.nowNanos;
  }
  const refs = sanitizeSymbols(f, stats);
  mergeSamples(f, refs, stats);
  clearAddresses(f);
  dropUnusedFlat(f);
  return stats;
}

interface SanitizedRefs {
  /** string index → repaired index (0 for out of range) */
  str(i: number): number;
  /** raw location id → new id (0: the sample must go) */
  location: IdMap;
}

/** `sanitizeProfile` for everything but the samples (which `mergeSamples` does in its pass). */
function sanitizeSymbols(f: FlatProfile, stats: NormalizeStats): SanitizedRefs {
  const st = f.stringTable;
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
  for (const vt of f.sampleType) {
    vt.type = str(vt.type);
    vt.unit = str(vt.unit);
  }
  if (f.periodType) {
    f.periodType.type = str(f.periodType.type);
    f.periodType.unit = str(f.periodType.unit);
  }
  f.defaultSampleType = str(f.defaultSampleType);
  f.dropFrames = str(f.dropFrames);
  f.keepFrames = str(f.keepFrames);
  f.docUrl = str(f.docUrl);
  f.comment = f.comment.map(str);

  const mappingIds = new Map<number, number>();
  f.mapping.forEach((m, i) => {
    m.buildId = str(m.buildId);
    m.filename = str(m.filename);
    mappingIds.set(m.id, i + 1);
    m.id = i + 1;
  });

  // Locations: drop the empty ones and those with an unknown mapping; mapping 0 gets a stub.
  const L = f.locations;
  let stub = 0;
  let out = 0;
  let lineOut = 0;
  let lineFrom = L.lineStart[0];
  for (let i = 0; i < L.count; i++) {
    const lineTo = L.lineStart[i + 1];
    const nLines = lineTo - lineFrom;
    const from = lineFrom;
    lineFrom = lineTo;
    const addr = L.address.v[i];
    let keep = true;
    let mid = L.mapping[i];
    if (nLines === 0 && addr === 0) keep = false;
    else if (mid === 0) {
      if (stub === 0) {
        stub = f.mapping.length + 1;
        f.mapping.push(stubMapping(stub));
      }
      mid = stub;
    } else {
      const m = mappingIds.get(mid);
      if (m === undefined) keep = false;
      else mid = m;
    }
    if (!keep) {
      stats.locationInvalid++;
      continue;
    }
    moveLocation(f, i, out, from, lineTo, lineOut);
    L.mapping[out] = mid;
    lineOut += nLines;
    out++;
    L.lineStart[out] = lineOut;
  }
  L.count = out;
  L.lineStart[0] = 0;

  // Functions: renumbered 1..n (a duplicate id resolves to its last occurrence).
  const F = f.functions;
  const functionIds = idMapFor(F.id, F.count);
  for (let i = 0; i < F.count; i++) {
    F.name[i] = str(F.name[i]);
    F.systemName[i] = str(F.systemName[i]);
    F.filename[i] = str(F.filename[i]);
    functionIds.set(F.id[i], i + 1);
    F.id[i] = i + 1;
  }
  // Locations with a line whose function is unknown go.
  out = 0;
  lineOut = 0;
  lineFrom = L.lineStart[0];
  for (let i = 0; i < L.count; i++) {
    const lineTo = L.lineStart[i + 1];
    let ok = true;
    for (let j = lineFrom; j < lineTo; j++) {
      const fid = functionIds.get(L.lineFunction[j]);
      if (fid === 0) {
        ok = false;
        break;
      }
      L.lineFunction[j] = fid;
    }
    const from = lineFrom;
    lineFrom = lineTo;
    if (!ok) {
      stats.locationInvalid++;
      continue;
    }
    moveLocation(f, i, out, from, lineTo, lineOut);
    lineOut += lineTo - from;
    out++;
    L.lineStart[out] = lineOut;
  }
  L.count = out;

  const location = idMapFor(L.id, L.count);
  for (let i = 0; i < L.count; i++) {
    location.set(L.id[i], i + 1);
    L.id[i] = i + 1;
  }
  return { str, location };
}

function stubMapping(id: number): Mapping {
  return {
    id,
    memoryStart: 0,
    memoryLimit: 0,
    fileOffset: 0,
    filename: 0,
    buildId: 0,
    hasFunctions: false,
    hasFilenames: false,
    hasLineNumbers: false,
    hasInlineFrames: false,
  };
}

/** Moves location row `i` (lines `[from, to)`) to row `out` (lines from `lineOut`); out ≤ i. */
function moveLocation(
  f: FlatProfile,
  i: number,
  out: number,
  from: number,
  to: number,
  lineOut: number,
): void {
  const L = f.locations;
  if (out !== i) {
    L.id[out] = L.id[i];
    L.mapping[out] = L.mapping[i];
    copyInt64(L.address, out, L.address, i);
    L.folded[out] = L.folded[i];
  }
  if (lineOut !== from) {
    for (let j = from, k = lineOut; j < to; j++, k++) {
      L.lineFunction[k] = L.lineFunction[j];
      copyInt64(L.lineLine, k, L.lineLine, j);
      copyInt64(L.lineColumn, k, L.lineColumn, j);
    }
  }
}

/**
 * The sample half of sanitizeProfile and the merge of Normalize in one pass, in place: a
 * sample with the wrong number of values or an unknown location goes (invalid); its label
 * references are repaired and its numeric labels dropped; a negative or all-zero sample goes;
 * its labels are sorted by (key, str); a sample equal in stack and labels to one kept before
 * adds its values to it. Kept samples keep their first-seen order.
 */
function mergeSamples(f: FlatProfile, refs: SanitizedRefs, stats: NormalizeStats): void {
  const s = f.samples;
  const vs = f.sampleType.length;
  const { locStart, loc, valStart, val, labStart, labKey, labStr, labUnit, labNum } = s;
  const n = s.count;
  const table = new HashTable(n);
  const { str, location } = refs;
  let out = 0;
  let locOut = 0;
  let valOut = 0;
  let labOut = 0;
  let l0 = locStart[0];
  let v0 = valStart[0];
  let b0 = labStart[0];
  for (let i = 0; i < n; i++) {
    const l1 = locStart[i + 1];
    const v1 = valStart[i + 1];
    const b1 = labStart[i + 1];
    const li = l0;
    const vi = v0;
    const bi = b0;
    l0 = l1;
    v0 = v1;
    b0 = b1;
    if (v1 - vi !== vs) {
      stats.sampleInvalid++;
      continue;
    }
    let bad = false;
    for (let k = li; k < l1; k++) {
      const id = location.get(loc[k]);
      if (id === 0) {
        bad = true;
        break;
      }
      loc[k] = id;
    }
    if (bad) {
      stats.sampleInvalid++;
      continue;
    }
    // labels: repaired references, numeric ones dropped, in place at the read position
    let be = bi;
    for (let j = bi; j < b1; j++) {
      const key = str(labKey[j]);
      const sv = str(labStr[j]);
      const unit = str(labUnit[j]);
      if (sv === 0) continue;
      labKey[be] = key;
      labStr[be] = sv;
      labUnit[be] = unit;
      if (be !== j) copyInt64(labNum, be, labNum, j);
      be++;
    }
    let neg = false;
    let pos = false;
    for (let k = vi; k < v1; k++) {
      if (isNeg(val, k)) neg = true;
      else if (isPos(val, k)) pos = true;
    }
    if (neg) {
      stats.sampleValueNegative++;
      continue;
    }
    if (!pos) {
      stats.sampleValueZero++;
      continue;
    }
    if (be - bi > 1) sortLabels(s, bi, be);
    const h = hashSample(loc, li, l1, labKey, labStr, bi, be);
    const prev = table.find(h, s, li, l1, bi, be);
    if (prev >= 0) {
      const pv = valStart[prev];
      for (let k = 0; k < vs; k++) addInt64At(val, pv + k, val, vi + k);
      stats.sampleDuplicate++;
      continue;
    }
    // keep: move to row `out`
    locStart[out] = locOut;
    for (let k = li; k < l1; k++) loc[locOut++] = loc[k];
    valStart[out] = valOut;
    if (valOut !== vi) for (let k = vi; k < v1; k++) copyInt64(val, valOut + k - vi, val, k);
    valOut += vs;
    labStart[out] = labOut;
    if (labOut !== bi) {
      for (let j = bi; j < be; j++) {
        const k = labOut + j - bi;
        labKey[k] = labKey[j];
        labStr[k] = labStr[j];
        labUnit[k] = labUnit[j];
        copyInt64(labNum, k, labNum, j);
      }
    }
    labOut += be - bi;
    table.add(h, out);
    out++;
    locStart[out] = locOut;
    valStart[out] = valOut;
    labStart[out] = labOut;
  }
  s.count = out;
  locStart[out] = locOut;
  valStart[out] = valOut;
  labStart[out] = labOut;
}

/** Stable insertion sort of the labels `[from, to)` by (key, str): label lists are short. */
function sortLabels(s: FlatSamples, from: number, to: number): void {
  const { labKey, labStr, labUnit, labNum } = s;
  for (let i = from + 1; i < to; i++) {
    const k = labKey[i];
    const v = labStr[i];
    let j = i - 1;
    while (j >= from && (labKey[j] > k || (labKey[j] === k && labStr[j] > v))) j--;
    if (j + 1 === i) continue;
    const u = labUnit[i];
    const nx = labNum.v[i];
    const nb = nx === nx ? undefined : labNum.big!.get(i);
    for (let m = i; m > j + 1; m--) {
      labKey[m] = labKey[m - 1];
      labStr[m] = labStr[m - 1];
      labUnit[m] = labUnit[m - 1];
      copyInt64(labNum, m, labNum, m - 1);
    }
    labKey[j + 1] = k;
    labStr[j + 1] = v;
    labUnit[j + 1] = u;
    labNum.v[j + 1] = nx;
    if (nb !== undefined) labNum.big!.set(j + 1, nb);
    else labNum.big?.delete(j + 1);
  }
}

/** FNV-1a-style hash of a stack and its (key, str) labels; ids are small integers here. */
export function hashSample(
  loc: Float64Array,
  l0: number,
  l1: number,
  labKey: Float64Array,
  labStr: Float64Array,
  b0: number,
  b1: number,
): number {
  let h = 0x811c9dc5 ^ (l1 - l0);
  for (let k = l0; k < l1; k++) h = Math.imul(h ^ loc[k], 0x01000193);
  h = Math.imul(h ^ (b1 - b0), 0x01000193);
  for (let j = b0; j < b1; j++) {
    h = Math.imul(h ^ labKey[j], 0x01000193);
    h = Math.imul(h ^ labStr[j], 0x01000193);
  }
  return h ^ (h >>> 15);
}

/**
 * Open addressing over kept sample rows, keyed by `hashSample`; equality compares the stacks
 * and (key, str) label lists element by element.
 */
class HashTable {
  private readonly rows: Int32Array;
  private readonly hashes: Int32Array;
  private readonly mask: number;

  constructor(n: number) {
    let size = 16;
    while (size < n * 2) size <<= 1;
    this.rows = new Int32Array(size).fill(-1);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
  }

  /** The kept row equal to the sample spanning `[l0, l1)` / `[b0, b1)`, or -1. */
  find(h: number, s: FlatSamples, l0: number, l1: number, b0: number, b1: number): number {
    const { rows, hashes, mask } = this;
    const { locStart, loc, labStart, labKey, labStr } = s;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const r = rows[i];
      if (r < 0) return -1;
      if (hashes[i] !== h) continue;
      const p0 = locStart[r];
      const q0 = labStart[r];
      if (locStart[r + 1] - p0 !== l1 - l0 || labStart[r + 1] - q0 !== b1 - b0) continue;
      let eq = true;
      for (let k = 0; k < l1 - l0; k++) {
        if (loc[p0 + k] !== loc[l0 + k]) {
          eq = false;
          break;
        }
      }
      if (eq) {
        for (let j = 0; j < b1 - b0; j++) {
          if (labKey[q0 + j] !== labKey[b0 + j] || labStr[q0 + j] !== labStr[b0 + j]) {
            eq = false;
            break;
          }
        }
      }
      if (eq) return r;
    }
  }

  add(h: number, row: number): void {
    const { rows, hashes, mask } = this;
    let i = h & mask;
    while (rows[i] >= 0) i = (i + 1) & mask;
    rows[i] = row;
    hashes[i] = h;
  }
}

function clearAddresses(f: FlatProfile): void {
  const symbolised = new Set<number>();
  for (const m of f.mapping) {
    if (m.hasFunctions) {
      m.memoryStart = 0;
      m.memoryLimit = 0;
      m.fileOffset = 0;
      symbolised.add(m.id);
    }
  }
  if (symbolised.size === 0) return;
  const L = f.locations;
  for (let i = 0; i < L.count; i++) {
    if (symbolised.has(L.mapping[i])) {
      L.address.v[i] = 0;
      L.address.big?.delete(i);
    }
  }
}

/**
 * Drops locations, functions, mappings and strings that nothing references, renumbering ids
 * (1-based, in their original order) and string indices (index 0 stays `""`). Safe to call twice.
 */
export function dropUnusedFlat(f: FlatProfile): void {
  const s = f.samples;
  const L = f.locations;
  const F = f.functions;
  const nLocRefs = s.locStart[s.count];

  // locations used by a sample, in their order
  let maxRef = 0;
  for (let k = 0; k < nLocRefs; k++) if (s.loc[k] > maxRef) maxRef = s.loc[k];
  const referenced = idMapUpTo(maxRef);
  for (let k = 0; k < nLocRefs; k++) referenced.set(s.loc[k], 1);
  const locIds = idMapFor(L.id, L.count);
  let out = 0;
  let lineOut = 0;
  let lineFrom = L.lineStart[0];
  for (let i = 0; i < L.count; i++) {
    const lineTo = L.lineStart[i + 1];
    const from = lineFrom;
    lineFrom = lineTo;
    if (referenced.get(L.id[i]) === 0) continue;
    moveLocation(f, i, out, from, lineTo, lineOut);
    lineOut += lineTo - from;
    locIds.set(L.id[out], out + 1);
    L.id[out] = out + 1;
    out++;
    L.lineStart[out] = lineOut;
  }
  L.count = out;
  L.lineStart[0] = 0;
  for (let k = 0; k < nLocRefs; k++) s.loc[k] = locIds.get(s.loc[k]);

  // functions and mappings used by the kept locations: the functions marked in an id map (a
  // Set of doubles was a fifth of this function on JFR); an id no function has marks nothing
  // that is read. Neighbouring locations nearly always share their mapping.
  const usedFn = idMapFor(F.id, F.count);
  const usedMap = new Set<number>();
  let lastMap = NaN;
  for (let i = 0; i < L.count; i++) {
    const m = L.mapping[i];
    if (m !== lastMap) {
      usedMap.add(m);
      lastMap = m;
    }
    for (let j = L.lineStart[i]; j < L.lineStart[i + 1]; j++) usedFn.set(L.lineFunction[j], 1);
  }
  const fnIds = idMapFor(F.id, F.count);
  out = 0;
  for (let i = 0; i < F.count; i++) {
    if (usedFn.get(F.id[i]) === 0) continue;
    if (out !== i) {
      F.id[out] = F.id[i];
      F.name[out] = F.name[i];
      F.systemName[out] = F.systemName[i];
      F.filename[out] = F.filename[i];
      copyInt64(F.startLine, out, F.startLine, i);
    }
    fnIds.set(F.id[out], out + 1);
    F.id[out] = out + 1;
    out++;
  }
  F.count = out;
  const mapIds = new Map<number, number>();
  f.mapping = f.mapping.filter((m) => usedMap.has(m.id));
  f.mapping.forEach((m, i) => {
    mapIds.set(m.id, i + 1);
    m.id = i + 1;
  });
  let fromMap = NaN;
  let toMap = 0;
  for (let i = 0; i < L.count; i++) {
    const m = L.mapping[i];
    if (m !== fromMap) {
      fromMap = m;
      toMap = mapIds.get(m) ?? 0;
    }
    L.mapping[i] = toMap;
    for (let j = L.lineStart[i]; j < L.lineStart[i + 1]; j++)
      L.lineFunction[j] = fnIds.get(L.lineFunction[j]);
  }

  const st = f.stringTable;
  const used = new Uint8Array(st.length);
  used[0] = 1;
  visitStringRefsFlat(f, (i) => {
    if (i > 0 && i < st.length) used[i] = 1;
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
  f.stringTable = table;
  visitStringRefsFlat(f, (i) => (i > 0 && i < st.length ? remap[i] : 0));
}

/** Calls `fn` on every string-table reference of the profile, storing what it returns. */
export function visitStringRefsFlat(f: FlatProfile, fn: (i: number) => number): void {
  for (const vt of f.sampleType) {
    vt.type = fn(vt.type);
    vt.unit = fn(vt.unit);
  }
  if (f.periodType) {
    f.periodType.type = fn(f.periodType.type);
    f.periodType.unit = fn(f.periodType.unit);
  }
  const s = f.samples;
  for (let j = 0, e = s.labStart[s.count]; j < e; j++) {
    s.labKey[j] = fn(s.labKey[j]);
    s.labStr[j] = fn(s.labStr[j]);
    s.labUnit[j] = fn(s.labUnit[j]);
  }
  for (const m of f.mapping) {
    m.filename = fn(m.filename);
    m.buildId = fn(m.buildId);
  }
  const F = f.functions;
  for (let i = 0; i < F.count; i++) {
    F.name[i] = fn(F.name[i]);
    F.systemName[i] = fn(F.systemName[i]);
    F.filename[i] = fn(F.filename[i]);
  }
  f.comment = f.comment.map(fn);
  f.dropFrames = fn(f.dropFrames);
  f.keepFrames = fn(f.keepFrames);
  f.defaultSampleType = fn(f.defaultSampleType);
  f.docUrl = fn(f.docUrl);
}
