// Pyroscope's default ingestion relabel rules (`pkg/validation/relabeling.go`), applied by the
// distributor to every series (and, for the wall/cpu rule, per sample type):
//   1. `__name__` = `godeltaprof_<x>`  → `__name_replaced__` = the original name,
//   2.                                    `__delta__` = `false`,
//   3.                                    `__name__` = `<x>`;
//   4. `__name__`/`__type__` = `wall/cpu` → `__name_replaced__` = `wall`,
//   5.                                    `__name__` = `process_cpu`.
// Prometheus regexes are anchored; a Replace whose result is empty deletes the target label.

import type { LabelPair } from './labels.js';

const GODELTAPROF = /^godeltaprof_([\s\S]*)$/;

function get(labels: readonly LabelPair[], name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return '';
}

function set(labels: LabelPair[], name: string, value: string): LabelPair[] {
  const out = labels.filter((l) => l.name !== name);
  if (value !== '') out.push({ name, value });
  return out;
}

/** Returns a new label set with the default rules applied (order of the pairs not preserved). */
export function applyDefaultRelabelRules(labels: readonly LabelPair[]): LabelPair[] {
  let out = [...labels];
  const name = get(out, '__name__');
  const m = GODELTAPROF.exec(name);
  if (m) {
    out = set(out, '__name_replaced__', name);
    out = set(out, '__delta__', 'false');
    out = set(out, '__name__', m[1]);
  }
  if (`${get(out, '__name__')}/${get(out, '__type__')}` === 'wall/cpu') {
    out = set(out, '__name_replaced__', 'wall');
    out = set(out, '__name__', 'process_cpu');
  }
  return out;
}
