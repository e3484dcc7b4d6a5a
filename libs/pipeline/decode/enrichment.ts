import { decodedSeries, type DecodedSeries } from '../../decoders/index.js';
import {
  applyRelabelRules,
  compileRelabelRules,
  copyInt64,
  sortLabels,
  type FlatProfile,
  type LabelPair,
  type RelabelRule,
} from '../../model/index.js';
import type { EmberConfig } from '../../runtime/config.js';

// Enrichment after decoding, before a series leaves the decoder:
//   1. global tags from the config file, at the lowest precedence (a label the agent sent wins);
//   2. series relabel rules, global then the tenant's (keep/drop may drop the series);
//   3. sample relabel rules on every sample's string labels (span_id, thread_name, ...).
// The labels that identify a series for Pyroscope (service_name, __name__) cannot be removed by
// a rule: if a rule deletes one, the original is restored and the repair is counted, so a
// backend never rejects later what we accepted. Pure apart from the per-tenant rule cache.

const PROTECTED = ['service_name', '__name__'];

export interface EnrichOutcome {
  series: DecodedSeries | null;
  /** protected labels restored after a rule removed them */
  repairs: number;
  /** samples dropped by sample rules */
  droppedSamples: number;
}

/** Compiled rules for one tenant: global rules first, then the tenant's own. */
export interface EnrichRules {
  globalTags: LabelPair[];
  series: RelabelRule[];
  sample: RelabelRule[];
}

/** The rules in force for a tenant, as plain data (they cross to worker threads). */
export function tenantRuleConfig(config: EmberConfig, tenant: string) {
  const t = config.file.tenants[tenant];
  return {
    globalTags: config.file.globalTags,
    relabel: [...config.file.relabel, ...(t?.relabel ?? [])],
    sampleRelabel: [...config.file.sampleRelabel, ...(t?.sampleRelabel ?? [])],
  };
}

export class SeriesEnricher {
  constructor(private readonly rules: EnrichRules) {}

  enrich(s: DecodedSeries): EnrichOutcome {
    const rules = this.rules;
    let labels = s.labels;
    if (rules.globalTags.length > 0) {
      const have = new Set(labels.map((l) => l.name));
      labels = [...labels, ...rules.globalTags.filter((t) => !have.has(t.name))];
    }
    let repairs = 0;
    if (rules.series.length > 0) {
      const out = applyRelabelRules(labels, rules.series);
      if (out === null) return { series: null, repairs: 0, droppedSamples: 0 };
      for (const name of PROTECTED) {
        const before = labels.find((l) => l.name === name);
        const after = out.find((l) => l.name === name);
        if (before && (!after || after.value === '')) {
          repairs++;
          const i = out.findIndex((l) => l.name === name);
          if (i >= 0) out.splice(i, 1);
          out.push(before);
        }
      }
      labels = out;
    }
    const droppedSamples = rules.sample.length > 0 ? relabelSamples(s.flat, rules.sample) : 0;
    const out = decodedSeries(sortLabels(labels), s.flat);
    if (s.id !== undefined) out.id = s.id;
    if (s.repairs !== undefined) out.repairs = s.repairs;
    return { series: out, repairs, droppedSamples };
  }
}

/**
 * Rewrites each sample's string labels in place (numeric labels follow, unchanged); returns how
 * many samples a rule dropped. The rules run once per distinct label set, not per sample.
 */
export function relabelSamples(p: FlatProfile, rules: readonly RelabelRule[]): number {
  const st = p.stringTable;
  const index = new Map<string, number>();
  const intern = (s: string): number => {
    if (index.size === 0) st.forEach((v, i) => index.has(v) || index.set(v, i));
    let i = index.get(s);
    if (i === undefined) {
      i = st.length;
      st.push(s);
      index.set(s, i);
    }
    return i;
  };
  // outcome per distinct (key, str) sequence: null (drop) or the new (key, str) pairs
  const outcomes = new Map<string, number[] | null>();
  const s = p.samples;
  const { locStart, loc, valStart, val, labStart, labKey, labStr, labNum, labUnit } = s;
  const newKeys: number[] = [];
  const newStrs: number[] = [];
  /** per new label: the old label slot whose num and unit it keeps (numeric labels), or -1 */
  const newNums: number[] = [];
  const rowStart: number[] = [0];
  const kept: number[] = [];
  for (let i = 0; i < s.count; i++) {
    const ids: number[] = [];
    for (let j = labStart[i]; j < labStart[i + 1]; j++)
      if (labStr[j] !== 0) ids.push(labKey[j], labStr[j]);
    const key = ids.join(',');
    let out = outcomes.get(key);
    if (out === undefined) {
      const pairs: LabelPair[] = [];
      for (let k = 0; k < ids.length; k += 2)
        pairs.push({ name: st[ids[k]], value: st[ids[k + 1]] });
      const r = applyRelabelRules(pairs, rules);
      out = r === null ? null : r.flatMap((l) => [intern(l.name), intern(l.value)]);
      outcomes.set(key, out);
    }
    if (out === null) continue;
    kept.push(i);
    for (let k = 0; k < out.length; k += 2) {
      newKeys.push(out[k]);
      newStrs.push(out[k + 1]);
      newNums.push(-1);
    }
    for (let j = labStart[i]; j < labStart[i + 1]; j++) {
      if (labStr[j] !== 0) continue;
      newKeys.push(labKey[j]);
      newStrs.push(0);
      newNums.push(j);
    }
    rowStart.push(newKeys.length);
  }
  const dropped = s.count - kept.length;
  // labels: the new lists; numeric labels keep their num and unit
  const n = newKeys.length;
  const keys = new Float64Array(n);
  const strs = new Float64Array(n);
  const units = new Float64Array(n);
  const nums = { v: new Float64Array(n), big: null as Map<number, bigint> | null };
  for (let k = 0; k < n; k++) {
    keys[k] = newKeys[k];
    strs[k] = newStrs[k];
    const from = newNums[k];
    if (from >= 0) {
      units[k] = labUnit[from];
      copyInt64(nums, k, labNum, from);
    }
  }
  // samples: compacted to the kept rows (rows only move down)
  let nl = 0;
  let nv = 0;
  const newLabStart = new Int32Array(kept.length + 1);
  for (let r = 0; r < kept.length; r++) {
    const i = kept[r];
    const l0 = locStart[i];
    const l1 = locStart[i + 1];
    const v0 = valStart[i];
    const v1 = valStart[i + 1];
    locStart[r] = nl;
    for (let k = l0; k < l1; k++) loc[nl++] = loc[k];
    valStart[r] = nv;
    for (let k = v0; k < v1; k++) copyInt64(val, nv++, val, k);
    newLabStart[r + 1] = rowStart[r + 1];
  }
  locStart[kept.length] = nl;
  valStart[kept.length] = nv;
  s.count = kept.length;
  s.labStart = newLabStart;
  s.labKey = keys;
  s.labStr = strs;
  s.labNum = nums;
  s.labUnit = units;
  return dropped;
}

/** An enricher with a tenant's rules compiled (validated at boot, so this cannot throw). */
export function enricherForTenant(config: EmberConfig, tenant: string): SeriesEnricher {
  const r = tenantRuleConfig(config, tenant);
  return new SeriesEnricher({
    globalTags: Object.entries(r.globalTags).map(([name, value]) => ({ name, value })),
    series: compileRelabelRules(r.relabel),
    sample: compileRelabelRules(r.sampleRelabel),
  });
}
