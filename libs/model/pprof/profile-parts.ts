import type { Location, Mapping, Profile, ProfileFunction, Sample } from '../profile.js';
import { decodePprof } from './profile-reader.js';
import { encodePprof } from './profile-writer.js';

// Splitting one profile into parts whose encoded pprof each fits a byte budget: a series too
// large for one queue record (or for a backend's per-profile limit) travels as several records
// that together are exactly the original (every sample in exactly one part, values untouched).
//
// Contract:
// - Deterministic: the same bytes and budget give the same parts, byte for byte. Delivery
//   dedupe relies on it: a redelivered upload re-splits into the same parts with the same ids.
// - Parts keep the profile's metadata (sample types, period, time, duration, comments, default
//   type) and only the locations, functions, mappings and strings their samples use, with the
//   original ids; the string table is compacted.
// - Samples are cut into contiguous runs, in order. A run that still encodes too large is cut
//   in two again; a single sample that alone exceeds the budget becomes a part of its own (the
//   caller decides what to do with an oversize part: it cannot be split further).
// - A profile that already fits comes back as one part: the input bytes themselves.

export function splitPprof(bytes: Uint8Array, maxBytes: number): Uint8Array[] {
  if (bytes.length <= maxBytes) return [bytes];
  const p = decodePprof(bytes);
  if (p.sample.length <= 1) return [bytes];
  // Aim a little under the budget: shared symbols are repeated in every part.
  const n = Math.max(2, Math.ceil(bytes.length / (maxBytes * 0.85)));
  const per = Math.ceil(p.sample.length / n);
  const out: Uint8Array[] = [];
  for (let start = 0; start < p.sample.length; start += per) {
    encodeRun(p, start, Math.min(p.sample.length, start + per), maxBytes, out);
  }
  return out;
}

function encodeRun(
  p: Profile,
  from: number,
  to: number,
  maxBytes: number,
  out: Uint8Array[],
): void {
  const bytes = encodePprof(partOf(p, p.sample.slice(from, to)));
  if (bytes.length <= maxBytes || to - from <= 1) {
    out.push(bytes);
    return;
  }
  const mid = from + Math.ceil((to - from) / 2);
  encodeRun(p, from, mid, maxBytes, out);
  encodeRun(p, mid, to, maxBytes, out);
}

/** The profile restricted to `samples`: what they reference, strings renumbered densely. */
export function partOf(p: Profile, samples: Sample[]): Profile {
  const locById = new Map<number, Location>();
  for (const l of p.location) locById.set(l.id, l);
  const fnById = new Map<number, ProfileFunction>();
  for (const f of p.function) fnById.set(f.id, f);
  const mapById = new Map<number, Mapping>();
  for (const m of p.mapping) mapById.set(m.id, m);

  const locs = new Map<number, Location>();
  for (const s of samples)
    for (const id of s.locationId) {
      const l = locById.get(id);
      if (l && !locs.has(id)) locs.set(id, l);
    }
  const fns = new Map<number, ProfileFunction>();
  const maps = new Map<number, Mapping>();
  for (const l of locs.values()) {
    for (const line of l.line) {
      const f = fnById.get(line.functionId);
      if (f && !fns.has(f.id)) fns.set(f.id, f);
    }
    const m = mapById.get(l.mappingId);
    if (m && !maps.has(m.id)) maps.set(m.id, m);
  }

  const strings: string[] = [''];
  const remap = new Map<number, number>([[0, 0]]);
  const s = (i: number): number => {
    let j = remap.get(i);
    if (j === undefined) {
      j = strings.length;
      strings.push(p.stringTable[i] ?? '');
      remap.set(i, j);
    }
    return j;
  };
  // Original order of every list, so parts of the same input are stable.
  const keptMappings = p.mapping.filter((m) => maps.has(m.id));
  const keptLocations = p.location.filter((l) => locs.has(l.id));
  const keptFunctions = p.function.filter((f) => fns.has(f.id));
  return {
    sampleType: p.sampleType.map((v) => ({ type: s(v.type), unit: s(v.unit) })),
    sample: samples.map((x) => ({
      locationId: x.locationId,
      value: x.value,
      label: x.label.map((l) => ({
        key: s(l.key),
        str: l.str === 0 ? 0 : s(l.str),
        num: l.num,
        numUnit: l.numUnit === 0 ? 0 : s(l.numUnit),
      })),
    })),
    mapping: keptMappings.map((m) => ({ ...m, filename: s(m.filename), buildId: s(m.buildId) })),
    location: keptLocations,
    function: keptFunctions.map((f) => ({
      ...f,
      name: s(f.name),
      systemName: s(f.systemName),
      filename: s(f.filename),
    })),
    stringTable: strings,
    dropFrames: p.dropFrames === 0 ? 0 : s(p.dropFrames),
    keepFrames: p.keepFrames === 0 ? 0 : s(p.keepFrames),
    timeNanos: p.timeNanos,
    durationNanos: p.durationNanos,
    periodType: p.periodType
      ? { type: s(p.periodType.type), unit: s(p.periodType.unit) }
      : undefined,
    period: p.period,
    comment: p.comment.map(s),
    defaultSampleType: p.defaultSampleType === 0 ? 0 : s(p.defaultSampleType),
    docUrl: p.docUrl === 0 ? 0 : s(p.docUrl),
  };
}
