// Splitting one profile into series by its sample labels (Pyroscope's distributor,
// `pkg/model/pprofsplit/pprof_split.go` VisitSampleSeries; pyroscope-protocol.md §7.1-§7.2) on
// the flat model. The semantics are those of ../series-split.ts, whose `Profile` API runs
// through this: `profile_id` renamed `span_id`; samples grouped by their string labels other
// than span_id/trace_id (which stay on the samples); each group's labels added to the series
// labels without overriding; groups whose final label sets are equal merged again (same stack
// and span/trace ids: values summed). Groups and label sets are interned by integer hashing.

import {
  LABEL_PROFILE_ID,
  LABEL_SPAN_ID,
  LABEL_TRACE_ID,
  labelsKey,
  type LabelPair,
} from '../labels.js';
import {
  addInt64At,
  copyInt64,
  flatFunctions,
  flatLocations,
  flatSamples,
  growF64,
  growInt64,
  type FlatProfile,
  type FlatSamples,
} from './flat-profile.js';
import { idMapFor } from './id-map.js';

export interface FlatSplitSeries {
  /** sorted by name */
  labels: LabelPair[];
  profile: FlatProfile;
}

/** Renames a sample-label key in place (`pprof.RenameLabel`). */
export function renameSampleLabelFlat(f: FlatProfile, oldName: string, newName: string): void {
  const oi = f.stringTable.indexOf(oldName);
  if (oi <= 0) return;
  let ni = f.stringTable.indexOf(newName);
  if (ni <= 0) {
    ni = f.stringTable.length;
    f.stringTable.push(newName);
  }
  const s = f.samples;
  for (let j = 0, e = s.labStart[s.count]; j < e; j++) if (s.labKey[j] === oi) s.labKey[j] = ni;
}

/**
 * Splits `f` into series. `finish` turns a candidate label set into the final one (relabel
 * rules, label repair); it may return `undefined` to drop the group. The profile is consumed:
 * a single series is `f` itself, several each own a copy of the symbols they use.
 */
export function splitFlatBySampleLabels(
  baseLabels: readonly LabelPair[],
  f: FlatProfile,
  finish: (labels: LabelPair[]) => LabelPair[] | undefined,
): FlatSplitSeries[] {
  renameSampleLabelFlat(f, LABEL_PROFILE_ID, LABEL_SPAN_ID);
  const st = f.stringTable;
  const s = f.samples;
  // kept[k]: label key k names span_id or trace_id (stays on the samples)
  const kept = new Uint8Array(st.length);
  for (let i = 0; i < st.length; i++)
    kept[i] = st[i] === LABEL_SPAN_ID || st[i] === LABEL_TRACE_ID ? 1 : 0;
  const isKept = (key: number): boolean => key >= 0 && key < kept.length && kept[key] === 1;

  // Group by the sorted (key, str) pairs of the other labels; group 0 is "no such label".
  const groups = new LabelSetTable();
  const groupOf = new Int32Array(s.count);
  let scratch: Float64Array = new Float64Array(16);
  for (let i = 0; i < s.count; i++) {
    const b0 = s.labStart[i];
    const b1 = s.labStart[i + 1];
    let n = 0;
    for (let j = b0; j < b1; j++) {
      if (isKept(s.labKey[j])) continue;
      if (2 * n + 2 > scratch.length) scratch = growF64(scratch, 2 * n + 2);
      scratch[2 * n] = s.labKey[j];
      scratch[2 * n + 1] = s.labStr[j];
      n++;
    }
    if (n > 1) sortPairs(scratch, n);
    groupOf[i] = groups.intern(scratch, n);
  }

  if (groups.size === 0 || (groups.size === 1 && groups.length(0) === 0)) {
    const labels = finish([...baseLabels]);
    if (labels === undefined || s.count === 0) return [];
    return [{ labels, profile: f }];
  }

  // Final label set per group; groups with equal final sets share one output series.
  const seriesOfGroup = new Int32Array(groups.size).fill(-1);
  const series: { labels: LabelPair[]; groups: number[] }[] = [];
  const byKey = new Map<string, number>();
  for (let g = 0; g < groups.size; g++) {
    const labels = [...baseLabels];
    const pairs = groups.pairs(g);
    for (let k = 0; k < pairs.length; k += 2) {
      const key = pairs[k];
      const str = pairs[k + 1];
      if (str <= 0) continue;
      const name = st[key] ?? '';
      if (labels.some((x) => x.name === name && x.value !== '')) continue;
      const at = labels.findIndex((x) => x.name === name);
      if (at >= 0) labels.splice(at, 1);
      labels.push({ name, value: st[str] ?? '' });
    }
    const final = finish(labels);
    if (final === undefined) continue;
    const key = labelsKey(final);
    let sIdx = byKey.get(key);
    if (sIdx === undefined) {
      sIdx = series.length;
      byKey.set(key, sIdx);
      series.push({ labels: final, groups: [] });
    }
    series[sIdx].groups.push(g);
    seriesOfGroup[g] = sIdx;
  }

  // Samples per group, in order; a series takes its groups' samples group after group.
  const groupSamples: number[][] = Array.from({ length: groups.size }, () => []);
  for (let i = 0; i < s.count; i++)
    if (seriesOfGroup[groupOf[i]] >= 0) groupSamples[groupOf[i]].push(i);

  const symbols = new SymbolIndex(f);
  const out: FlatSplitSeries[] = [];
  for (const sr of series) {
    const rows: number[] = [];
    for (const g of sr.groups) for (const i of groupSamples[g]) rows.push(i);
    const profile = withSamples(f, rows, symbols, isKept);
    if (profile.samples.count === 0) continue;
    out.push({ labels: sr.labels, profile });
  }
  return out;
}

/** Sorts `n` (key, str) pairs stored interleaved in `a`, by key then str (insertion sort). */
function sortPairs(a: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const k = a[2 * i];
    const v = a[2 * i + 1];
    let j = i - 1;
    while (j >= 0 && (a[2 * j] > k || (a[2 * j] === k && a[2 * j + 1] > v))) {
      a[2 * j + 2] = a[2 * j];
      a[2 * j + 3] = a[2 * j + 1];
      j--;
    }
    a[2 * j + 2] = k;
    a[2 * j + 3] = v;
  }
}

/** Interned sequences of (key, str) pairs, numbered in first-seen order. */
class LabelSetTable {
  private pool: Float64Array = new Float64Array(64);
  private used = 0;
  private starts: number[] = [];
  private lengths: number[] = [];
  private readonly byHash = new Map<number, number[]>();

  get size(): number {
    return this.starts.length;
  }

  length(id: number): number {
    return this.lengths[id];
  }

  pairs(id: number): Float64Array {
    return this.pool.subarray(this.starts[id], this.starts[id] + 2 * this.lengths[id]);
  }

  intern(a: Float64Array, n: number): number {
    let h = 0x811c9dc5 ^ n;
    for (let k = 0; k < 2 * n; k++) h = Math.imul(h ^ a[k], 0x01000193);
    const bucket = this.byHash.get(h);
    if (bucket !== undefined) {
      for (const id of bucket) {
        if (this.lengths[id] !== n) continue;
        const p = this.starts[id];
        let eq = true;
        for (let k = 0; k < 2 * n; k++) {
          if (this.pool[p + k] !== a[k]) {
            eq = false;
            break;
          }
        }
        if (eq) return id;
      }
    }
    const id = this.starts.length;
    this.pool = growF64(this.pool, this.used + 2 * n);
    this.pool.set(a.subarray(0, 2 * n), this.used);
    this.starts.push(this.used);
    this.lengths.push(n);
    this.used += 2 * n;
    if (bucket === undefined) this.byHash.set(h, [id]);
    else bucket.push(id);
    return id;
  }
}

/** Row of each location, function and mapping by raw id (a duplicate id: its last row). */
class SymbolIndex {
  readonly location;
  readonly fn;
  readonly mapping = new Map<number, number>();
  /** per location / function row: the last `generation` that counted it (sizing passes) */
  readonly locMark: Int32Array;
  readonly fnMark: Int32Array;
  /**
   * Per location / function / string row: its id in the series being built, valid while the
   * matching *Gen entry equals `generation` (one pair of arrays for all series, no map each).
   */
  readonly locNew: Int32Array;
  readonly locGen: Int32Array;
  readonly fnNew: Int32Array;
  readonly fnGen: Int32Array;
  readonly strNew: Int32Array;
  readonly strGen: Int32Array;
  generation = 0;

  constructor(f: FlatProfile) {
    this.locMark = new Int32Array(f.locations.count);
    this.fnMark = new Int32Array(f.functions.count);
    this.locNew = new Int32Array(f.locations.count);
    this.locGen = new Int32Array(f.locations.count);
    this.fnNew = new Int32Array(f.functions.count);
    this.fnGen = new Int32Array(f.functions.count);
    this.strNew = new Int32Array(f.stringTable.length);
    this.strGen = new Int32Array(f.stringTable.length);
    this.location = idMapFor(f.locations.id, f.locations.count);
    for (let i = 0; i < f.locations.count; i++) this.location.set(f.locations.id[i], i + 1);
    this.fn = idMapFor(f.functions.id, f.functions.count);
    for (let i = 0; i < f.functions.count; i++) this.fn.set(f.functions.id[i], i + 1);
    f.mapping.forEach((m, i) => this.mapping.set(m.id, i));
  }
}

/**
 * A profile holding the samples `rows` of `p` (identical stack and span/trace labels merged,
 * values summed; other labels removed) and copies of only the symbols they use: ids renumbered
 * 1..n in first-use order, strings re-interned in first-use order. The work is proportional to
 * the rows, not to `p`, so splitting into many groups stays linear.
 */
function withSamples(
  p: FlatProfile,
  rows: readonly number[],
  idx: SymbolIndex,
  isKept: (key: number) => boolean,
): FlatProfile {
  const src = p.samples;
  const gen = ++idx.generation;
  const strings: string[] = [''];
  const { strNew, strGen } = idx;
  const nStrings = p.stringTable.length;
  // references outside the table (possible before normalisation) are interned by value here
  let outside: Map<number, number> | undefined;
  const str = (i: number): number => {
    if (i === 0) return 0;
    if (i > 0 && i < nStrings && Number.isInteger(i)) {
      if (strGen[i] === gen) return strNew[i];
      const n = strings.length;
      strings.push(p.stringTable[i]);
      strGen[i] = gen;
      strNew[i] = n;
      return n;
    }
    outside ??= new Map();
    let n = outside.get(i);
    if (n === undefined) {
      n = strings.length;
      strings.push('');
      outside.set(i, n);
    }
    return n;
  };
  // the header's strings first, in the order the object version interned them
  const sampleType = p.sampleType.map((v) => ({ type: str(v.type), unit: str(v.unit) }));
  const dropFrames = str(p.dropFrames);
  const keepFrames = str(p.keepFrames);
  const periodType = p.periodType
    ? { type: str(p.periodType.type), unit: str(p.periodType.unit) }
    : undefined;
  const comment = p.comment.map(str);
  const defaultSampleType = str(p.defaultSampleType);
  const docUrl = str(p.docUrl);

  // merge: identical stack + identical multiset of kept (span/trace) labels
  const merged = mergeRows(src, rows, isKept);
  const L = p.locations;
  const F = p.functions;
  // the symbols the merged samples use, counted first: every column is allocated once, exactly
  let nLoc = 0;
  let nLines = 0;
  let nFn = 0;
  for (let r = 0; r < merged.count; r++) {
    const i = merged.samples.rowOf[r];
    for (let k = src.locStart[i]; k < src.locStart[i + 1]; k++) {
      const row = idx.location.get(src.loc[k]) - 1;
      if (row < 0 || idx.locMark[row] === gen) continue;
      idx.locMark[row] = gen;
      nLoc++;
      for (let j = L.lineStart[row]; j < L.lineStart[row + 1]; j++) {
        nLines++;
        const fr = idx.fn.get(L.lineFunction[j]) - 1;
        if (fr >= 0 && idx.fnMark[fr] !== gen) {
          idx.fnMark[fr] = gen;
          nFn++;
        }
      }
    }
  }

  const out: FlatProfile = {
    sampleType,
    mapping: [],
    stringTable: strings,
    dropFrames,
    keepFrames,
    timeNanos: p.timeNanos,
    durationNanos: p.durationNanos,
    periodType,
    period: p.period,
    comment,
    defaultSampleType,
    docUrl,
    samples: flatSamples(merged.count, merged.locs, merged.vals, merged.labels),
    locations: flatLocations(nLoc, nLines),
    functions: flatFunctions(nFn),
  };
  const OL = out.locations;
  const OF = out.functions;
  const { locNew, locGen, fnNew, fnGen } = idx;
  const mapIds = new Map<number, number>();
  const mapping = (id: number): number => {
    let n = mapIds.get(id);
    if (n === undefined) {
      const row = idx.mapping.get(id);
      if (row === undefined) return 0;
      const m = p.mapping[row];
      n = out.mapping.length + 1;
      const filename = str(m.filename);
      const buildId = str(m.buildId);
      out.mapping.push({ ...m, id: n, filename, buildId });
      mapIds.set(id, n);
    }
    return n;
  };
  const fn = (id: number): number => {
    const row = idx.fn.get(id) - 1;
    if (row < 0) return 0;
    let n = fnGen[row] === gen ? fnNew[row] : 0;
    if (n === 0) {
      n = OF.count + 1;
      const name = str(F.name[row]);
      const systemName = str(F.systemName[row]);
      const filename = str(F.filename[row]);
      const i = pushRow(OF);
      OF.id[i] = n;
      OF.name[i] = name;
      OF.systemName[i] = systemName;
      OF.filename[i] = filename;
      copyInt64(OF.startLine, i, F.startLine, row);
      fnGen[row] = gen;
      fnNew[row] = n;
    }
    return n;
  };
  let lineFn = new Int32Array(8);
  const loc = (id: number): number => {
    const row = idx.location.get(id) - 1;
    if (row < 0) return 0;
    let n = locGen[row] === gen ? locNew[row] : 0;
    if (n === 0) {
      n = OL.count + 1;
      locGen[row] = gen;
      locNew[row] = n;
      const mid = mapping(L.mapping[row]);
      const j0 = L.lineStart[row];
      const j1 = L.lineStart[row + 1];
      if (j1 - j0 > lineFn.length) lineFn = new Int32Array(2 * (j1 - j0));
      for (let j = j0; j < j1; j++) lineFn[j - j0] = fn(L.lineFunction[j]);
      const i = OL.count;
      growLocationRows(OL, i + 1, OL.lineStart[i] + (j1 - j0));
      OL.id[i] = n;
      OL.mapping[i] = mid;
      copyInt64(OL.address, i, L.address, row);
      OL.folded[i] = L.folded[row];
      let k = OL.lineStart[i];
      for (let j = j0; j < j1; j++, k++) {
        OL.lineFunction[k] = lineFn[j - j0];
        copyInt64(OL.lineLine, k, L.lineLine, j);
        copyInt64(OL.lineColumn, k, L.lineColumn, j);
      }
      OL.lineStart[i + 1] = k;
      OL.count = i + 1;
    }
    return n;
  };

  const os = out.samples;
  const ms = merged.samples;
  let nl = 0;
  let nv = 0;
  let nb = 0;
  for (let r = 0; r < merged.count; r++) {
    const i = ms.rowOf[r];
    for (let k = src.locStart[i]; k < src.locStart[i + 1]; k++) os.loc[nl++] = loc(src.loc[k]);
    for (let k = ms.valStart[r]; k < ms.valStart[r + 1]; k++) copyInt64(os.val, nv++, ms.val, k);
    for (let j = src.labStart[i]; j < src.labStart[i + 1]; j++) {
      if (!isKept(src.labKey[j])) continue;
      os.labKey[nb] = str(src.labKey[j]);
      os.labStr[nb] = str(src.labStr[j]);
      copyInt64(os.labNum, nb, src.labNum, j);
      os.labUnit[nb] = str(src.labUnit[j]);
      nb++;
    }
    os.locStart[r + 1] = nl;
    os.valStart[r + 1] = nv;
    os.labStart[r + 1] = nb;
  }
  os.count = merged.count;
  return out;
}

function pushRow(F: FlatProfile['functions']): number {
  const i = F.count;
  if (i === F.id.length) {
    const n = Math.max(16, i * 2);
    F.id = growF64(F.id, n);
    F.name = growF64(F.name, n);
    F.systemName = growF64(F.systemName, n);
    F.filename = growF64(F.filename, n);
    growInt64(F.startLine, n);
  }
  F.count = i + 1;
  return i;
}

function growLocationRows(L: FlatProfile['locations'], rows: number, lines: number): void {
  if (rows > L.id.length) {
    const n = Math.max(16, rows * 2);
    L.id = growF64(L.id, n);
    L.mapping = growF64(L.mapping, n);
    growInt64(L.address, n);
    const folded = new Uint8Array(n);
    folded.set(L.folded);
    L.folded = folded;
  }
  if (rows + 1 > L.lineStart.length) {
    const s = new Int32Array(Math.max(rows + 1, L.lineStart.length * 2));
    s.set(L.lineStart);
    L.lineStart = s;
  }
  if (lines > L.lineFunction.length) {
    const n = Math.max(16, lines * 2);
    L.lineFunction = growF64(L.lineFunction, n);
    growInt64(L.lineLine, n);
    growInt64(L.lineColumn, n);
  }
}

interface MergedRows {
  count: number;
  /** location ids, values and kept labels the merged samples hold (for sizing) */
  locs: number;
  vals: number;
  labels: number;
  samples: { rowOf: Int32Array; valStart: Int32Array; val: FlatSamples['val'] };
}

/**
 * The distinct samples of `rows` by (stack, multiset of kept labels) in first-seen order, with
 * their values summed. Values are copied (the input is not changed).
 */
function mergeRows(
  s: FlatSamples,
  rows: readonly number[],
  isKept: (key: number) => boolean,
): MergedRows {
  const n = rows.length;
  const rowOf = new Int32Array(n);
  const valStart = new Int32Array(n + 1);
  let totalVals = 0;
  for (const i of rows) totalVals += s.valStart[i + 1] - s.valStart[i];
  const val = { v: new Float64Array(totalVals), big: null as Map<number, bigint> | null };
  let size = 16;
  while (size < n * 2) size <<= 1;
  const table = new Int32Array(size).fill(-1);
  const hashes = new Int32Array(size);
  const mask = size - 1;
  // sorted kept (key, str) pairs of each distinct sample, for equality
  let keys: Float64Array = new Float64Array(16);
  const keyStart: number[] = [0];
  let scratch: Float64Array = new Float64Array(16);
  let count = 0;
  let locs = 0;
  let labels = 0;
  let nv = 0;
  for (const i of rows) {
    const l0 = s.locStart[i];
    const l1 = s.locStart[i + 1];
    let m = 0;
    for (let j = s.labStart[i]; j < s.labStart[i + 1]; j++) {
      if (!isKept(s.labKey[j])) continue;
      if (2 * m + 2 > scratch.length) scratch = growF64(scratch, 2 * m + 2);
      scratch[2 * m] = s.labKey[j];
      scratch[2 * m + 1] = s.labStr[j];
      m++;
    }
    if (m > 1) sortPairs(scratch, m);
    let h = 0x811c9dc5 ^ (l1 - l0);
    for (let k = l0; k < l1; k++) h = Math.imul(h ^ s.loc[k], 0x01000193);
    h = Math.imul(h ^ m, 0x01000193);
    for (let k = 0; k < 2 * m; k++) h = Math.imul(h ^ scratch[k], 0x01000193);
    let found = -1;
    for (let t = h & mask; ; t = (t + 1) & mask) {
      const r = table[t];
      if (r < 0) break;
      if (hashes[t] !== h) continue;
      const pi = rowOf[r];
      const p0 = s.locStart[pi];
      if (s.locStart[pi + 1] - p0 !== l1 - l0) continue;
      if (keyStart[r + 1] - keyStart[r] !== 2 * m) continue;
      let eq = true;
      for (let k = 0; k < l1 - l0; k++) {
        if (s.loc[p0 + k] !== s.loc[l0 + k]) {
          eq = false;
          break;
        }
      }
      if (eq) {
        const q0 = keyStart[r];
        for (let k = 0; k < 2 * m; k++) {
          if (keys[q0 + k] !== scratch[k]) {
            eq = false;
            break;
          }
        }
      }
      if (eq) {
        found = r;
        break;
      }
    }
    const v0 = s.valStart[i];
    const v1 = s.valStart[i + 1];
    if (found >= 0) {
      const pv = valStart[found];
      const len = Math.min(v1 - v0, valStart[found + 1] - pv);
      for (let k = 0; k < len; k++) addInt64At(val, pv + k, s.val, v0 + k);
      continue;
    }
    const r = count++;
    rowOf[r] = i;
    valStart[r] = nv;
    for (let k = v0; k < v1; k++) copyInt64(val, nv++, s.val, k);
    valStart[r + 1] = nv;
    keys = growF64(keys, keyStart[r] + 2 * m);
    keys.set(scratch.subarray(0, 2 * m), keyStart[r]);
    keyStart.push(keyStart[r] + 2 * m);
    locs += l1 - l0;
    labels += m;
    let t = h & mask;
    while (table[t] >= 0) t = (t + 1) & mask;
    table[t] = r;
    hashes[t] = h;
  }
  return { count, locs, vals: nv, labels, samples: { rowOf, valStart, val } };
}
