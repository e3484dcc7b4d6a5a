import {
  ProfileBuilder,
  canonicalSpanId,
  compareStrings,
  type Profile,
} from '../../model/index.js';
import type { SeriesLabel } from '../../queue/index.js';
import type { EmbeddedStore, SelectQuery } from './embedded-store.js';
import { parseProfileTypeId, storedLabelMap } from './embedded-store.js';
import { toFlamegraphDiff, type FlamegraphDiff } from './flamegraph-diff.js';
import { matches, type Matcher } from './label-selector.js';
import { addCompact, columnTotal, stackFilter } from './compact-profile.js';
import { addSpanValues, collectSpanIds, topSpanValues } from './span-links.js';
import { CallTree, ROOT, pruneThreshold, toFlamegraph, type Flamegraph } from './stack-tree.js';

// The queries of Pyroscope's querier.v1.QuerierService over the embedded store, as plain
// functions of (store, tenant-scoped query). The tenant is always part of the query: nothing
// here can read across tenants. Wire formats (JSON, binary proto) are the controller's business.

export type { SelectQuery };

export function mergeTree(store: EmbeddedStore, q: SelectQuery): CallTree {
  return merge(store, q).tree;
}

function merge(store: EmbeddedStore, q: SelectQuery): { tree: CallTree; period: number } {
  const tree = new CallTree();
  let period = 0;
  const keep = stackFilter({ spans: q.spanSelector, callSite: q.callSite });
  for (const { profile, column } of store.selectProfiles(q)) {
    addCompact(tree, profile, column, keep);
    period = Math.max(period, profile.period);
  }
  return { tree, period };
}

export function selectMergeStacktraces(
  store: EmbeddedStore,
  q: SelectQuery,
  maxNodes = 0,
): Flamegraph {
  return toFlamegraph(mergeTree(store, q), maxNodes);
}

export function diff(
  store: EmbeddedStore,
  left: SelectQuery,
  right: SelectQuery,
  maxNodes = 0,
): FlamegraphDiff {
  return toFlamegraphDiff(mergeTree(store, left), mergeTree(store, right), maxNodes);
}

/**
 * One pprof merging every selected profile (SelectMergeProfile): the selected sample type only,
 * stacks merged by function name, period and time range kept. `go tool pprof` opens it.
 */
export function selectMergeProfile(store: EmbeddedStore, q: SelectQuery, maxNodes = 0): Profile {
  const pt = parseProfileTypeId(q.profileTypeId);
  const { tree, period } = merge(store, q);
  const b = new ProfileBuilder().sampleType(pt.sampleType, pt.sampleUnit);
  b.period(pt.periodType, pt.periodUnit, period);
  b.time(BigInt(q.startMs) * 1_000_000n, BigInt(q.endMs - q.startMs) * 1_000_000n);
  const minTotal = maxNodes > 0 ? pruneThreshold(tree.totals.subarray(0, tree.count), maxNodes) : 0;
  const path: string[] = [];
  const walk = (n: number): void => {
    let self = tree.selfs[n];
    for (const c of tree.children(n)) {
      if (tree.totals[c] < minTotal) {
        self += tree.totals[c]; // pruned subtree: its value stays with the caller
        continue;
      }
      path.push(tree.nodeName[c]);
      walk(c);
      path.pop();
    }
    if (self > 0 && path.length > 0) b.stack(path, [self]);
  };
  walk(ROOT);
  return b.build();
}

export interface SeriesPoint {
  value: number;
  timestamp: number;
}

export interface TimeSeries {
  labels: SeriesLabel[];
  points: SeriesPoint[];
}

export interface SelectSeriesOptions {
  groupBy: readonly string[];
  /** seconds; ≤ 0 picks one that yields about 100 points */
  stepSeconds: number;
  aggregation: 'sum' | 'average';
  /** top series by total; 0 = all */
  limit: number;
}

/**
 * Time series of the selected value (SelectSeries): per group-by label set, one point per step
 * (timestamps at the step's start, aligned to `startMs`), summed or averaged over the profiles
 * of the step. Series are ordered by labels; with a limit, the largest totals are kept.
 */
export function selectSeries(
  store: EmbeddedStore,
  q: SelectQuery,
  o: SelectSeriesOptions,
): TimeSeries[] {
  const span = Math.max(1, q.endMs - q.startMs);
  const stepMs =
    o.stepSeconds > 0
      ? Math.max(1, Math.round(o.stepSeconds * 1000))
      : Math.max(1000, Math.ceil(span / 100));
  // per step, the value of each profile (the parts of a split series add up to one profile)
  const groups = new Map<
    string,
    { labels: SeriesLabel[]; buckets: Map<number, Map<string, number>>; total: number }
  >();
  const keep = stackFilter({ spans: q.spanSelector, callSite: q.callSite });
  for (const { series, profile, column } of store.selectProfiles(q)) {
    const v = columnTotal(profile, column, keep);
    const stored = storedLabelMap(series.labels, q.profileTypeId);
    const labels = o.groupBy
      .map((name) => ({ name, value: stored.get(name) ?? '' }))
      .filter((l) => l.value !== '');
    const key = JSON.stringify(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, buckets: new Map(), total: 0 }));
    const t = profile.timeMs > 0 ? profile.timeMs : series.startMs;
    const at = q.startMs + Math.floor((Math.max(t, q.startMs) - q.startMs) / stepMs) * stepMs;
    let b = g.buckets.get(at);
    if (!b) g.buckets.set(at, (b = new Map()));
    b.set(series.profileId, (b.get(series.profileId) ?? 0) + v);
    g.total += v;
  }
  let list = [...groups.values()];
  if (o.limit > 0 && list.length > o.limit)
    list = list.sort((a, b) => b.total - a.total).slice(0, o.limit);
  return list
    .map((g) => ({
      labels: g.labels,
      points: [...g.buckets.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([timestamp, b]) => {
          let sum = 0;
          for (const v of b.values()) sum += v;
          return { timestamp, value: o.aggregation === 'average' ? sum / b.size : sum };
        }),
    }))
    .sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
}

/**
 * Label sets of the series matching any selector (Series): per profile type of a stored series,
 * the set Pyroscope stores (`storedSeriesLabels`: `__profile_type__`, `__type__`, `__unit__`,
 * `__period_type__`, `__period_unit__`, `__service_name__` next to the series' own labels, no
 * `__delta__`, no empty values), sorted by name; with labelNames, only those labels; with
 * `hideName`, without the names it refuses (the UTF-8 names a client did not ask for). Distinct
 * sets only.
 */
export function seriesLabelSets(
  store: EmbeddedStore,
  tenant: string,
  selectors: readonly (readonly Matcher[])[],
  labelNames: readonly string[],
  startMs: number,
  endMs: number,
  hideName: (name: string) => boolean = () => false,
): SeriesLabel[][] {
  const out = new Map<string, SeriesLabel[]>();
  const only = labelNames.length > 0 ? new Set(labelNames) : undefined;
  for (const matchers of selectors.length > 0 ? selectors : [[]]) {
    for (const s of store.listSeries(tenant, startMs, endMs, matchers)) {
      for (const t of s.profileTypeIds) {
        const all = storedLabelMap(s.labels, t);
        if (!matches(all, matchers)) continue;
        let labels = [...all.entries()].map(([name, value]) => ({ name, value }));
        if (only) labels = labels.filter((l) => only.has(l.name));
        labels = labels.filter((l) => !hideName(l.name));
        labels.sort((a, b) => compareStrings(a.name, b.name));
        out.set(JSON.stringify(labels), labels);
      }
    }
  }
  return [...out.values()];
}

export interface HeatmapSlot {
  timestamp: number;
  /** lower bound of each non-empty value bucket */
  yMin: number[];
  counts: number[];
}

export interface HeatmapSeries {
  labels: SeriesLabel[];
  slots: HeatmapSlot[];
}

const HEATMAP_BUCKETS = 20;

/**
 * SelectHeatmap: how the values of individual profiles (or, per span, of individual spans) are
 * distributed over time. Per group-by label set and step, the values are counted in
 * HEATMAP_BUCKETS equal value buckets spanning all values of the answer; a slot lists its
 * non-empty buckets (lower bound and count).
 */
export function selectHeatmap(
  store: EmbeddedStore,
  q: SelectQuery,
  o: { groupBy: readonly string[]; stepSeconds: number; limit: number; perSpan: boolean },
): HeatmapSeries[] {
  const span = Math.max(1, q.endMs - q.startMs);
  const stepMs =
    o.stepSeconds > 0
      ? Math.max(1, Math.round(o.stepSeconds * 1000))
      : Math.max(1000, Math.ceil(span / 100));
  const keep = stackFilter({ spans: q.spanSelector, callSite: q.callSite });
  const points: { key: string; labels: SeriesLabel[]; at: number; v: number }[] = [];
  const totals = new Map<string, number>();
  // one point per profile (or per span of a profile): a split series' parts add up first
  const byProfile = new Map<
    string,
    { key: string; labels: SeriesLabel[]; at: number; v: number }
  >();
  for (const { series, profile, column } of store.selectProfiles(q)) {
    const stored = storedLabelMap(series.labels, q.profileTypeId);
    const labels = o.groupBy
      .map((name) => ({ name, value: stored.get(name) ?? '' }))
      .filter((l) => l.value !== '');
    const key = JSON.stringify(labels);
    const t = profile.timeMs > 0 ? profile.timeMs : series.startMs;
    const at = q.startMs + Math.floor((Math.max(t, q.startMs) - q.startMs) / stepMs) * stepMs;
    const add = (id: string, v: number): void => {
      const whole = byProfile.get(id);
      if (whole) whole.v += v;
      else byProfile.set(id, { key, labels, at, v });
    };
    if (o.perSpan) {
      const types = profile.sampleTypes.length;
      for (let i = 0; i < profile.spans.length; i++) {
        if (profile.spans[i] < 0 || (keep && !keep(profile, i))) continue;
        // a span is one point however many parts of its profile hold its samples; rows stored
        // before span ids were checked may hold a span_id that is none
        const spanId = canonicalSpanId(profile.names[profile.spans[i]]);
        if (spanId === undefined) continue;
        add(`${series.profileId}\u0000${spanId}`, profile.values[i * types + column]);
      }
    } else add(series.profileId, columnTotal(profile, column, keep));
  }
  for (const p of byProfile.values()) {
    if (p.v === 0) continue;
    points.push(p);
    totals.set(p.key, (totals.get(p.key) ?? 0) + p.v);
  }
  if (points.length === 0) return [];
  let keys = [...totals.keys()];
  if (o.limit > 0 && keys.length > o.limit) {
    keys = keys.sort((a, b) => totals.get(b)! - totals.get(a)!).slice(0, o.limit);
  }
  const wanted = new Set(keys);
  const kept = points.filter((p) => wanted.has(p.key));
  let min = Infinity;
  let max = -Infinity;
  for (const p of kept) {
    min = Math.min(min, p.v);
    max = Math.max(max, p.v);
  }
  const width = max > min ? (max - min) / HEATMAP_BUCKETS : 1;
  const bucketOf = (v: number): number =>
    Math.min(HEATMAP_BUCKETS - 1, Math.floor((v - min) / width));
  const out = new Map<string, { labels: SeriesLabel[]; slots: Map<number, Map<number, number>> }>();
  for (const p of kept) {
    let g = out.get(p.key);
    if (!g) out.set(p.key, (g = { labels: p.labels, slots: new Map() }));
    let slot = g.slots.get(p.at);
    if (!slot) g.slots.set(p.at, (slot = new Map()));
    const b = bucketOf(p.v);
    slot.set(b, (slot.get(b) ?? 0) + 1);
  }
  return [...out.values()]
    .map((g) => ({
      labels: g.labels,
      slots: [...g.slots.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([timestamp, buckets]) => {
          const bs = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
          return {
            timestamp,
            yMin: bs.map(([b]) => min + b * width),
            counts: bs.map(([, c]) => c),
          };
        }),
    }))
    .sort((a, b) => (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
}

/** Where a span's samples were found: the profiles' service_name values and profile types. */
export interface ProfiledSpanSources {
  services: string[];
  types: string[];
}

/**
 * Which of `spanIds` label samples of the tenant's profiles stored in [startMs, endMs] (any
 * service, any profile type: span ids are unique, and a trace's service name need not be its
 * profiles' service_name), each with the service_name values of the profiles holding it. One
 * pass over the profiles of the range, whatever the number of ids (a whole trace at once).
 */
export function profiledSpans(
  store: EmbeddedStore,
  tenant: string,
  spanIds: readonly string[],
  startMs: number,
  endMs: number,
): Map<string, ProfiledSpanSources> {
  const wanted = new Set(spanIds.map((s) => s.toLowerCase()));
  const out = new Map<string, { services: Set<string>; types: Set<string> }>();
  if (wanted.size === 0) return new Map();
  for (const series of store.select(tenant, [], startMs, endMs)) {
    const c = store.compactOf(tenant, series.seriesId);
    if (!c) continue;
    const found = new Set<string>();
    collectSpanIds(c, wanted, found);
    if (found.size === 0) continue;
    const service = series.labels.find((l) => l.name === 'service_name')?.value ?? '';
    for (const id of found) {
      let o = out.get(id);
      if (!o) out.set(id, (o = { services: new Set(), types: new Set() }));
      if (service) o.services.add(service);
      for (const t of series.profileTypeIds) o.types.add(t);
    }
  }
  return new Map(
    [...out].map(([id, o]) => [
      id,
      { services: [...o.services].sort(compareStrings), types: [...o.types].sort(compareStrings) },
    ]),
  );
}

/**
 * The span ids carrying the most value of the selected profile type in a selection (selector,
 * range, call site), largest first, at most `limit`; `distinct` counts every span id seen.
 */
export function topSpans(
  store: EmbeddedStore,
  q: SelectQuery,
  limit: number,
): { spans: { spanId: string; value: number }[]; distinct: number; total: number } {
  const totals = new Map<string, number>();
  const keep = stackFilter({ spans: q.spanSelector, callSite: q.callSite });
  let total = 0;
  for (const { profile, column } of store.selectProfiles(q)) {
    addSpanValues(profile, column, totals, keep);
    total += columnTotal(profile, column, keep);
  }
  return { spans: topSpanValues(totals, limit), distinct: totals.size, total };
}
