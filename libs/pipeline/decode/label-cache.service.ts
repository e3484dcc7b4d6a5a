import { keys, type SharedStore } from '../../cache/index.js';
import type { LabelPair } from '../../model/index.js';
import type { EmberConfig } from '../../runtime/config.js';

// The label cache and cardinality guard, shared by every decoder replica through Redis:
// - label names per tenant and service, and the values of each label per tenant (bounded by the
//   cap), kept for the query side and for operators;
// - a HyperLogLog per tenant and label estimating its distinct values. Once a label has reached
//   `maxValuesPerLabel`, a value not seen before is replaced by `overflowValue` and counted, so
//   one runaway label (a request id, a timestamp) cannot explode the series count downstream.
// Values already known keep flowing unchanged. Exempt labels (service identity) are never capped.
// Cost: three pipelined round trips per batch of series, whatever its size.

const TTL_MS = 7 * 24 * 3600 * 1000;

export interface CardinalityOutcome {
  /** labels per series, with overflowing values replaced */
  labels: LabelPair[][];
  /** how many values were replaced, per label name */
  overflowed: Map<string, number>;
}

export class LabelCache {
  private readonly exempt: Set<string>;

  constructor(
    private readonly store: SharedStore,
    private readonly config: EmberConfig['file']['labelCardinality'],
  ) {
    this.exempt = new Set(config.exempt);
  }

  /** Records the series' labels and applies the cap. One call per batch of one tenant. */
  async observe(tenant: string, series: readonly LabelPair[][]): Promise<CardinalityOutcome> {
    const cap = this.config.maxValuesPerLabel;
    const out = series.map((ls) => ls.map((l) => ({ ...l })));
    const overflowed = new Map<string, number>();
    // distinct (name, value) pairs subject to the cap
    const byName = new Map<string, Set<string>>();
    for (const ls of out) {
      for (const l of ls) {
        if (this.exempt.has(l.name)) continue;
        let set = byName.get(l.name);
        if (!set) byName.set(l.name, (set = new Set()));
        set.add(l.value);
      }
    }
    const names = [...byName.keys()];
    const known = await this.store.setHas(
      names.map((n) => ({ key: keys.labelValues(tenant, n), members: [...byName.get(n)!] })),
    );
    const counts =
      cap > 0
        ? await this.store.countDistinct(
            names.map((n) => ({ key: keys.labelCardinality(tenant, n), values: [] })),
            TTL_MS,
          )
        : [];
    const admitted = new Map<string, string[]>();
    names.forEach((name, i) => {
      const values = [...byName.get(name)!];
      let room = cap > 0 ? Math.max(0, cap - counts[i]) : Infinity;
      const accept: string[] = [];
      const refuse = new Set<string>();
      values.forEach((v, j) => {
        if (known[i][j]) return;
        if (room > 0) {
          accept.push(v);
          room--;
        } else refuse.add(v);
      });
      admitted.set(name, accept);
      if (refuse.size > 0) {
        for (const ls of out) {
          for (const l of ls) {
            if (l.name === name && refuse.has(l.value)) {
              l.value = this.config.overflowValue;
              overflowed.set(name, (overflowed.get(name) ?? 0) + 1);
            }
          }
        }
      }
    });
    const newValues = [...admitted].filter(([, v]) => v.length > 0);
    const namesByService = new Map<string, Set<string>>();
    for (const ls of out) {
      const service = ls.find((l) => l.name === 'service_name')?.value ?? '';
      let set = namesByService.get(service);
      if (!set) namesByService.set(service, (set = new Set()));
      ls.forEach((l) => set!.add(l.name));
    }
    await Promise.all([
      this.store.setAdd(
        [
          ...newValues.map(([n, v]) => ({ key: keys.labelValues(tenant, n), members: v })),
          ...[...namesByService].map(([svc, n]) => ({
            key: keys.labelNames(tenant, svc),
            members: [...n],
          })),
        ],
        TTL_MS,
      ),
      newValues.length > 0
        ? this.store.countDistinct(
            newValues.map(([n, v]) => ({ key: keys.labelCardinality(tenant, n), values: v })),
            TTL_MS,
          )
        : Promise.resolve([]),
    ]);
    return { labels: out, overflowed };
  }

  /** Label names seen for a tenant's service (for the query side). */
  labelNames(tenant: string, service: string): Promise<string[]> {
    return this.store.setMembers(keys.labelNames(tenant, service));
  }

  /** Values seen for a tenant's label (at most the cap). */
  labelValues(tenant: string, name: string): Promise<string[]> {
    return this.store.setMembers(keys.labelValues(tenant, name));
  }
}
