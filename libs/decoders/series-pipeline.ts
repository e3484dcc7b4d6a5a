// What Pyroscope's distributor does to every pushed series (`pushSeries`, then the split):
// service_name fallback → ValidateProfile → Go fix-ups → Normalize → drop if empty → mapping
// versions → `__session_id__` limit →
// split by sample labels (relabel rules and label validation per group). Every decoder ends here,
// so all formats produce series the same way.

import {
  LABEL_METRIC_NAME,
  LABEL_SERVICE_NAME,
  SERVICE_NAME_FALLBACK,
  applyDefaultRelabelRules,
  detectLanguage,
  fixGoProfileFlat,
  flatToProfile,
  injectMappingVersions,
  getLabel,
  labelsKey,
  limitSessions,
  normalizeFlat,
  profileToFlat,
  repairLabels,
  splitFlatBySampleLabels,
} from '../model/index.js';
import type { FlatProfile, Int64, LabelPair, LabelRepair, Profile } from '../model/index.js';
import { DecodeError } from './decode-error.js';
import type { DecodedSeries, DecodeLimits } from './decoder.js';
import { validateFlatProfile } from './validate.js';

/**
 * A series as a format produces it, before the distributor steps: its profile in the flat model
 * (the pprof and JFR decoders write it directly) or as `Profile` objects (the text formats build
 * those; they are converted once, here).
 */
export type RawSeries = { labels: LabelPair[]; id?: string } & (
  { flat: FlatProfile; profile?: undefined } | { profile: Profile; flat?: undefined }
);

/** A decoded series whose `profile` view is built from `flat` when first read. */
class FlatSeries implements DecodedSeries {
  // declared, not defined: absent until set, as on a plain object
  declare id?: string;
  declare repairs?: LabelRepair[];
  #view: Profile | undefined;

  constructor(
    public labels: LabelPair[],
    public flat: FlatProfile,
  ) {}

  get profile(): Profile {
    return (this.#view ??= flatToProfile(this.flat));
  }
}

/** A DecodedSeries over `flat`, whose `profile` view is built when first read. */
export function decodedSeries(labels: LabelPair[], flat: FlatProfile): DecodedSeries {
  return new FlatSeries(labels, flat);
}

export function nowNanos(input: { nowNanos?: Int64 }): Int64 {
  if (input.nowNanos !== undefined) return input.nowNanos;
  return BigInt(Date.now()) * 1000000n;
}

export function finishSeries(raw: RawSeries, limits: DecodeLimits, now: Int64): DecodedSeries[] {
  let labels = raw.labels;
  const early: LabelRepair[] = [];
  if (!getLabel(labels, LABEL_SERVICE_NAME)) {
    if (labels.some((l) => l.name === LABEL_SERVICE_NAME)) {
      early.push({ kind: 'service_name_defaulted', name: LABEL_SERVICE_NAME });
    }
    labels = labels.filter((l) => l.name !== LABEL_SERVICE_NAME);
    labels.push({ name: LABEL_SERVICE_NAME, value: SERVICE_NAME_FALLBACK });
  }
  const p = raw.flat ?? profileToFlat(raw.profile);
  validateFlatProfile(p, limits, now);
  if (detectLanguage(labels, p) === 'go') fixGoProfileFlat(p);
  normalizeFlat(p, { nowNanos: now });
  if (p.samples.count === 0) return [];
  injectMappingVersions(labels, p);
  labels = limitSessions(labels, limits.maxSessionsPerSeries);

  const repairsByKey = new Map<string, LabelRepair[]>();
  const split = splitFlatBySampleLabels(labels, p, (candidate) => {
    const relabelled = applyDefaultRelabelRules(candidate);
    const metric = getLabel(relabelled, LABEL_METRIC_NAME);
    if (!metric) throw new DecodeError('invalid_labels', 'invalid metric name');
    const { labels: fixed, repairs: found } = repairLabels(relabelled, {
      maxLabelNamesPerSeries: limits.maxLabelNamesPerSeries,
      maxLabelNameLength: limits.maxLabelNameLength,
      maxLabelValueLength: limits.maxLabelValueLength,
      sanitizeNames: limits.sanitizeLabelNames,
    });
    const repairs = [...early, ...found];
    if (repairs.length > 0) {
      const key = labelsKey(fixed);
      repairsByKey.set(key, [...(repairsByKey.get(key) ?? []), ...repairs]);
    }
    return fixed;
  });
  return split.map((s) => {
    const out = decodedSeries(s.labels, s.profile);
    if (raw.id !== undefined) out.id = raw.id;
    // A repair of a base label shows on every series that carries it.
    const mine = repairsByKey.get(labelsKey(s.labels));
    if (mine !== undefined) out.repairs = dedupeRepairs(mine);
    return out;
  });
}

function dedupeRepairs(rs: LabelRepair[]): LabelRepair[] {
  const seen = new Set<string>();
  return rs.filter((r) => {
    const k = `${r.kind}\u0000${r.name}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
