// Splitting one profile into series by its sample labels, after Pyroscope's distributor
// (`pkg/model/pprofsplit/pprof_split.go` VisitSampleSeries, `pkg/pprof/pprof.go`
// GroupSamplesWithoutLabels, RenameLabel; pyroscope-protocol.md §7.1-§7.2):
//
//  1. the sample label `profile_id` is renamed `span_id`;
//  2. samples are grouped by their string-valued labels, ignoring `span_id` and `trace_id`,
//     which stay on the samples (they would explode series cardinality);
//  3. each group's labels are added to the series labels without overriding existing ones;
//  4. groups whose final label sets are equal are merged again (same stack + same span/trace
//     ids: values summed).
// The labels that became series labels are removed from the samples.
//
// This is the `Profile` version, the readable reference: the pipeline runs the flat model's
// `splitFlatBySampleLabels` (flat/split-flat.ts), which a property test holds equal to it.

import type { LabelPair } from './labels.js';
import {
  LABEL_PROFILE_ID,
  LABEL_SPAN_ID,
  LABEL_TRACE_ID,
  labelsKey,
  sortLabels,
} from './labels.js';
import { addInt64 } from './normalize.js';
import type { Label, Location, Mapping, Profile, ProfileFunction, Sample } from './profile.js';

export interface SplitSeries {
  /** sorted by name */
  labels: LabelPair[];
  profile: Profile;
}

/** Renames a sample-label key in place (`pprof.RenameLabel`). */
export function renameSampleLabel(p: Profile, oldName: string, newName: string): void {
  const oi = p.stringTable.indexOf(oldName);
  if (oi <= 0) return;
  let ni = p.stringTable.indexOf(newName);
  if (ni <= 0) {
    ni = p.stringTable.length;
    p.stringTable.push(newName);
  }
  for (const s of p.sample) for (const l of s.label) if (l.key === oi) l.key = ni;
}

/**
 * Splits `profile` into series. `finish` turns a candidate label set into the final one (relabel
 * rules, label repair); it may return `undefined` to drop the group. The profile is consumed:
 * each returned series owns its own copy of the symbol tables.
 */
export function splitBySampleLabels(
  baseLabels: readonly LabelPair[],
  profile: Profile,
  finish: (labels: LabelPair[]) => LabelPair[] | undefined = (l) => sortLabels(l),
): SplitSeries[] {
  renameSampleLabel(profile, LABEL_PROFILE_ID, LABEL_SPAN_ID);
  const st = profile.stringTable;
  const isKept = (l: Label): boolean => {
    const name = st[l.key];
    return name === LABEL_SPAN_ID || name === LABEL_TRACE_ID;
  };

  // Group by the (key, str) pairs of the labels that are not span/trace ids.
  const groups = new Map<string, { labels: Label[]; samples: Sample[] }>();
  for (const s of profile.sample) {
    const own = s.label.filter((l) => !isKept(l)).sort((a, b) => a.key - b.key || a.str - b.str);
    const key = own.map((l) => `${l.key}=${l.str}`).join(',');
    let g = groups.get(key);
    if (!g) {
      g = { labels: own, samples: [] };
      groups.set(key, g);
    }
    g.samples.push(s);
  }

  if (groups.size === 0 || (groups.size === 1 && groups.has(''))) {
    const labels = finish([...baseLabels]);
    if (labels === undefined || profile.sample.length === 0) return [];
    return [{ labels, profile }];
  }

  const merged = new Map<string, { labels: LabelPair[]; samples: Sample[] }>();
  for (const g of groups.values()) {
    const labels = [...baseLabels];
    for (const l of g.labels) {
      if (l.str <= 0) continue;
      const name = st[l.key] ?? '';
      if (labels.some((x) => x.name === name && x.value !== '')) continue;
      const i = labels.findIndex((x) => x.name === name);
      if (i >= 0) labels.splice(i, 1);
      labels.push({ name, value: st[l.str] ?? '' });
    }
    const final = finish(labels);
    if (final === undefined) continue;
    const key = labelsKey(final);
    const m = merged.get(key);
    if (m) m.samples.push(...g.samples);
    else merged.set(key, { labels: final, samples: [...g.samples] });
  }

  const out: SplitSeries[] = [];
  const idx = indexSymbols(profile);
  for (const m of merged.values()) {
    const samples = mergeSamples(m.samples, isKept);
    if (samples.length === 0) continue;
    out.push({ labels: m.labels, profile: withSamples(profile, samples, idx) });
  }
  return out;
}

function mergeSamples(samples: Sample[], isKept: (l: Label) => boolean): Sample[] {
  const byKey = new Map<string, Sample>();
  const out: Sample[] = [];
  for (const s of samples) {
    const label = s.label.filter(isKept);
    const key =
      s.locationId.join(',') +
      '|' +
      label
        .map((l) => `${l.key}=${l.str}`)
        .sort()
        .join(',');
    const prev = byKey.get(key);
    if (prev) {
      for (let j = 0; j < prev.value.length; j++)
        prev.value[j] = addInt64(prev.value[j], s.value[j]);
      continue;
    }
    const copy: Sample = { locationId: [...s.locationId], value: [...s.value], label };
    byKey.set(key, copy);
    out.push(copy);
  }
  return out;
}

interface SymbolIndex {
  location: Map<number, Location>;
  function: Map<number, ProfileFunction>;
  mapping: Map<number, Mapping>;
}

function indexSymbols(p: Profile): SymbolIndex {
  return {
    location: new Map(p.location.map((l) => [l.id, l])),
    function: new Map(p.function.map((f) => [f.id, f])),
    mapping: new Map(p.mapping.map((m) => [m.id, m])),
  };
}

/**
 * A profile holding `samples` and copies of only the symbols they use (ids renumbered 1..n in
 * first-use order, strings re-interned): the work is proportional to the group, not to `p`, so
 * splitting into many groups stays linear.
 */
function withSamples(p: Profile, samples: Sample[], idx: SymbolIndex): Profile {
  const strings: string[] = [''];
  const stringIds = new Map<number, number>([[0, 0]]);
  const str = (i: number): number => {
    let n = stringIds.get(i);
    if (n === undefined) {
      n = strings.length;
      strings.push(p.stringTable[i] ?? '');
      stringIds.set(i, n);
    }
    return n;
  };
  const out: Profile = {
    sampleType: p.sampleType.map((v) => ({ type: str(v.type), unit: str(v.unit) })),
    sample: [],
    mapping: [],
    location: [],
    function: [],
    stringTable: strings,
    dropFrames: str(p.dropFrames),
    keepFrames: str(p.keepFrames),
    timeNanos: p.timeNanos,
    durationNanos: p.durationNanos,
    periodType: p.periodType
      ? { type: str(p.periodType.type), unit: str(p.periodType.unit) }
      : undefined,
    period: p.period,
    comment: p.comment.map(str),
    defaultSampleType: str(p.defaultSampleType),
    docUrl: str(p.docUrl),
  };
  const locIds = new Map<number, number>();
  const fnIds = new Map<number, number>();
  const mapIds = new Map<number, number>();
  const mapping = (id: number): number => {
    let n = mapIds.get(id);
    if (n === undefined) {
      const m = idx.mapping.get(id);
      if (m === undefined) return 0;
      n = out.mapping.length + 1;
      out.mapping.push({ ...m, id: n, filename: str(m.filename), buildId: str(m.buildId) });
      mapIds.set(id, n);
    }
    return n;
  };
  const fn = (id: number): number => {
    let n = fnIds.get(id);
    if (n === undefined) {
      const f = idx.function.get(id);
      if (f === undefined) return 0;
      n = out.function.length + 1;
      out.function.push({
        id: n,
        name: str(f.name),
        systemName: str(f.systemName),
        filename: str(f.filename),
        startLine: f.startLine,
      });
      fnIds.set(id, n);
    }
    return n;
  };
  const loc = (id: number): number => {
    let n = locIds.get(id);
    if (n === undefined) {
      const l = idx.location.get(id);
      if (l === undefined) return 0;
      n = out.location.length + 1;
      locIds.set(id, n);
      out.location.push({
        id: n,
        mappingId: mapping(l.mappingId),
        address: l.address,
        line: l.line.map((x) => ({ functionId: fn(x.functionId), line: x.line, column: x.column })),
        isFolded: l.isFolded,
      });
    }
    return n;
  };
  for (const s of samples) {
    out.sample.push({
      locationId: s.locationId.map(loc),
      value: s.value,
      label: s.label.map((l) => ({
        key: str(l.key),
        str: str(l.str),
        num: l.num,
        numUnit: str(l.numUnit),
      })),
    });
  }
  return out;
}
