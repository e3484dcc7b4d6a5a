import type { DecodedSeries } from '../../decoders/index.js';
import {
  applyRelabelRules,
  compileRelabelRules,
  sortLabels,
  type LabelPair,
  type Profile,
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
    const droppedSamples = rules.sample.length > 0 ? relabelSamples(s.profile, rules.sample) : 0;
    return { series: { ...s, labels: sortLabels(labels) }, repairs, droppedSamples };
  }
}

/** Rewrites each sample's string labels in place; returns how many samples a rule dropped. */
export function relabelSamples(p: Profile, rules: readonly RelabelRule[]): number {
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
  let dropped = 0;
  p.sample = p.sample.filter((sample) => {
    const strLabels = sample.label.filter((l) => l.str !== 0);
    const numLabels = sample.label.filter((l) => l.str === 0);
    const pairs = strLabels.map((l) => ({ name: st[l.key], value: st[l.str] }));
    const out = applyRelabelRules(pairs, rules);
    if (out === null) {
      dropped++;
      return false;
    }
    sample.label = [
      ...out.map((l) => ({ key: intern(l.name), str: intern(l.value), num: 0, numUnit: 0 })),
      ...numLabels,
    ];
    return true;
  });
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
