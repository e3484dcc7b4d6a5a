import { deserialize, serialize } from 'node:v8';
import { canonicalSpanId } from '../span-id.js';
import { int64At, profileToFlat, type FlatProfile } from '../flat/flat-profile.js';
import { idMapFor } from '../flat/id-map.js';
import type { Int64, Profile } from '../profile.js';

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
  return compactFlat(profileToFlat(p));
}

/**
 * The compact form of a flat profile (normalised or not: unknown references become `?` frames,
 * as in `compactProfile`). Stacks are merged by integer hashing of their frame indices.
 */
export function compactFlat(f: FlatProfile): CompactProfile {
  const st = f.stringTable;
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
  // raw id -> 1 + name index / 1 + row (0: none), dense when the ids are (nearly always): the
  // per-frame lookups below were Map probes on doubles
  const F = f.functions;
  const fnName = idMapFor(F.id, F.count);
  for (let i = 0; i < F.count; i++) fnName.set(F.id[i], 1 + intern(st[F.name[i]] ?? ''));
  // frames of each location, root-most first (pprof lists inlined frames callee first)
  const L = f.locations;
  const locRow = idMapFor(L.id, L.count);
  const frameStart = new Int32Array(L.count + 1);
  let pool = new Int32Array(L.lineStart[L.count] + L.count);
  let n = 0;
  for (let i = 0; i < L.count; i++) {
    locRow.set(L.id[i], i + 1);
    const j0 = L.lineStart[i];
    const j1 = L.lineStart[i + 1];
    if (n + Math.max(1, j1 - j0) > pool.length) pool = grow32(pool, n + Math.max(1, j1 - j0));
    if (j1 === j0) {
      pool[n++] = intern(`0x${BigInt(int64At(L.address, i)).toString(16)}`);
    } else {
      for (let j = j1 - 1; j >= j0; j--) {
        const name = fnName.get(L.lineFunction[j]) | 0;
        pool[n++] = name > 0 ? name - 1 : intern('');
      }
    }
    frameStart[i + 1] = n;
  }
  const unknown = intern('?');
  const spanKey = st.indexOf('span_id');
  const types = f.sampleType.length;
  const s = f.samples;

  let offsets = new Int32Array(s.count + 1);
  let frames = new Int32Array(Math.max(16, s.locStart[s.count]));
  let values = new Float64Array(Math.max(1, s.count * types));
  let spans = new Int32Array(Math.max(1, s.count));
  let stacks = 0;
  let nFrames = 0;
  let size = 16;
  while (size < s.count * 2) size <<= 1;
  const table = new Int32Array(size).fill(-1);
  const hashes = new Int32Array(size);
  const mask = size - 1;
  let path = new Int32Array(64);
  for (let i = 0; i < s.count; i++) {
    let m = 0;
    for (let k = s.locStart[i + 1] - 1; k >= s.locStart[i]; k--) {
      // `| 0`: a dense map answers undefined for a fractional id (an unnormalised reference)
      const row = (locRow.get(s.loc[k]) | 0) - 1;
      const a = row < 0 ? 0 : frameStart[row];
      const b = row < 0 ? 0 : frameStart[row + 1];
      const need = row < 0 ? 1 : b - a;
      if (m + need > path.length) path = grow32(path, m + need);
      if (row < 0) path[m++] = unknown;
      else for (let q = a; q < b; q++) path[m++] = pool[q];
    }
    let span = -1;
    if (spanKey > 0) {
      for (let j = s.labStart[i]; j < s.labStart[i + 1]; j++) {
        if (s.labKey[j] === spanKey && s.labStr[j] !== 0) {
          // only 16 hex digits are a span (Pyroscope's decodeSpanID): the first such span_id
          const id = canonicalSpanId(st[s.labStr[j]]);
          if (id === undefined) continue;
          span = intern(id);
          break;
        }
      }
    }
    let h = Math.imul(0x811c9dc5 ^ span, 0x01000193) ^ m;
    for (let q = 0; q < m; q++) h = Math.imul(h ^ path[q], 0x01000193);
    let idx = -1;
    for (let t = h & mask; ; t = (t + 1) & mask) {
      const r = table[t];
      if (r < 0) {
        table[t] = stacks;
        hashes[t] = h;
        break;
      }
      if (hashes[t] !== h || spans[r] !== span) continue;
      const o = offsets[r];
      if (offsets[r + 1] - o !== m) continue;
      let eq = true;
      for (let q = 0; q < m; q++) {
        if (frames[o + q] !== path[q]) {
          eq = false;
          break;
        }
      }
      if (eq) {
        idx = r;
        break;
      }
    }
    if (idx < 0) {
      idx = stacks++;
      if (nFrames + m > frames.length) frames = grow32(frames, nFrames + m);
      frames.set(path.subarray(0, m), nFrames);
      nFrames += m;
      if (stacks + 1 > offsets.length) offsets = grow32(offsets, stacks + 1);
      offsets[stacks] = nFrames;
      if (stacks > spans.length) spans = grow32(spans, stacks);
      spans[idx] = span;
      if (stacks * types > values.length) {
        const v = new Float64Array(Math.max(stacks * types, values.length * 2));
        v.set(values);
        values = v;
      }
    }
    const v0 = s.valStart[i];
    const nv = s.valStart[i + 1] - v0;
    for (let t = 0; t < types; t++) {
      if (t < nv) values[idx * types + t] += toNumber(int64At(s.val, v0 + t));
    }
  }
  // exact: nanoseconds since the epoch exceed 2^53, so divide before converting
  const timeMs =
    typeof f.timeNanos === 'bigint'
      ? Number(f.timeNanos / 1_000_000n)
      : Math.floor(f.timeNanos / 1e6);
  return {
    v: 1,
    names,
    sampleTypes: f.sampleType.map((vt) => [st[vt.type] ?? '', st[vt.unit] ?? '']),
    period: toNumber(f.period),
    timeMs: timeMs > 0 ? timeMs : 0,
    offsets: offsets.slice(0, stacks + 1),
    frames: frames.slice(0, nFrames),
    values: values.slice(0, stacks * types),
    spans: spans.slice(0, stacks),
  };
}

function grow32(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export function encodeCompact(c: CompactProfile): Buffer {
  return serialize(c);
}

export function decodeCompact(b: Buffer): CompactProfile {
  const c = deserialize(b) as CompactProfile;
  if (c?.v !== 1) throw new Error('unknown compact profile version');
  return c;
}

function toNumber(v: Int64): number {
  return typeof v === 'bigint' ? Number(v) : v;
}
