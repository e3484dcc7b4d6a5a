// The label set Grafana Pyroscope stores for one profile type of a series, i.e. what its query
// API answers in LabelNames, LabelValues and Series, and what selectors match against.
//
// Facts from Pyroscope (read, not copied): `pkg/segmentwriter/memdb/head.go` Ingest deletes
// `__delta__` and `__order__` from the series labels, then `pkg/phlaredb/labels/labels.go`
// CreateProfileLabels builds one set per sample type with a `LabelsBuilder`
// (`pkg/model/labels.go`), whose Set of an empty value deletes the label and whose base drops
// empty-valued pairs: so no label ever has an empty value. It adds `__service_name__` (the value
// of `service_name`, when not empty), `__period_type__`/`__period_unit__` (when the profile has a
// period type), `__type__`, `__unit__` and `__profile_type__`.
//
// Emberflow keeps a series' labels as the agent sent them (with `__delta__=false`, which a v1
// Pyroscope needs on Push) and derives this set where it answers queries, so stored rows written
// before this rule answer the same way.

import { compareStrings, type LabelPair } from './labels.js';
import { parseProfileTypeId } from './profile-type.js';

export const LABEL_PROFILE_TYPE = '__profile_type__';
export const LABEL_SERVICE_NAME_PRIVATE = '__service_name__';
export const LABEL_TYPE = '__type__';
export const LABEL_UNIT = '__unit__';
export const LABEL_PERIOD_TYPE = '__period_type__';
export const LABEL_PERIOD_UNIT = '__period_unit__';
/** `pkg/model/labels.go` LabelNameOrder: dropped at ingest, like `__delta__` */
export const LABEL_ORDER = '__order__';

const DROPPED_AT_INGEST = new Set(['__delta__', LABEL_ORDER]);

/**
 * The stored label set of one profile type (`name:type:unit:period_type:period_unit`) of a
 * series with `labels`, sorted by name (Go byte order). `__name__` is the profile type's name:
 * Pyroscope's default relabel rules have rewritten it before storage (a `wall` series' cpu type
 * is stored as `process_cpu`). Throws `RangeError` for an id without five parts.
 */
export function storedSeriesLabels(
  labels: readonly LabelPair[],
  profileTypeId: string,
): LabelPair[] {
  const t = parseProfileTypeId(profileTypeId);
  const out = new Map<string, string>();
  for (const l of labels) {
    if (l.value === '' || DROPPED_AT_INGEST.has(l.name)) continue;
    // the first pair of a name wins, as a sorted, deduplicated set has only one
    if (!out.has(l.name)) out.set(l.name, l.value);
  }
  const set = (name: string, value: string): void => {
    if (value === '') out.delete(name);
    else out.set(name, value);
  };
  set('__name__', t.name);
  set(LABEL_SERVICE_NAME_PRIVATE, out.get('service_name') ?? '');
  set(LABEL_PERIOD_TYPE, t.periodType);
  set(LABEL_PERIOD_UNIT, t.periodUnit);
  set(LABEL_TYPE, t.sampleType);
  set(LABEL_UNIT, t.sampleUnit);
  out.set(LABEL_PROFILE_TYPE, profileTypeId);
  return [...out.entries()]
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => compareStrings(a.name, b.name));
}

/** Whether a label name is one of Pyroscope's reserved `__name__`-style names (UIs hide them). */
export function isReservedLabelName(name: string): boolean {
  return name.length > 4 && name.startsWith('__') && name.endsWith('__');
}
