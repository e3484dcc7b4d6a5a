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
  fixGoProfile,
  injectMappingVersions,
  getLabel,
  labelsKey,
  limitSessions,
  normalizeProfile,
  repairLabels,
  splitBySampleLabels,
} from '../model/index.js';
import type { Int64, LabelPair, LabelRepair, Profile } from '../model/index.js';
import { DecodeError } from './decode-error.js';
import type { DecodedSeries, DecodeLimits } from './decoder.js';
import { validateProfile } from './validate.js';

/** A series as a format produces it, before the distributor steps. */
export interface RawSeries {
  labels: LabelPair[];
  profile: Profile;
  id?: string;
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
  const p = raw.profile;
  validateProfile(p, limits, now);
  if (detectLanguage(labels, p) === 'go') fixGoProfile(p);
  normalizeProfile(p, { nowNanos: now });
  if (p.sample.length === 0) return [];
  injectMappingVersions(labels, p);
  labels = limitSessions(labels, limits.maxSessionsPerSeries);

  const repairsByKey = new Map<string, LabelRepair[]>();
  const split = splitBySampleLabels(labels, p, (candidate) => {
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
    const out: DecodedSeries = { labels: s.labels, profile: s.profile };
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
