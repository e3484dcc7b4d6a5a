// The links between traces and profiles the web UI draws, as pure functions of what the server
// answered (api.ts): which waterfall rows are profiled, the selection of a whole trace's span
// profile, and the profiles of a span's service instance (its resource's runtime_id).

import type { Filter } from './state';

/** A span known to have a span profile (GET /api/v1/traces/{id}/profiled-spans). */
export interface ProfiledSpan {
  spanId: string;
  /** the id SelectMergeSpanProfile selects: pyroscope.profile.id when set, else the span id */
  profileId: string;
  via: 'span_id' | 'attribute';
  /** service_name of the profiles holding its samples; may be empty */
  services: string[];
  /** profile types of the profiles holding its samples; may be empty */
  types: string[];
}

/** What the span links need of a waterfall span. */
export interface LinkedSpan {
  spanId: string;
  service: string;
  startMs: number;
  durationMs: number;
  resource: Record<string, string>;
}

/** A span-profile query: the services' selector and the ids. */
export interface SpanPick {
  selector: string;
  ids: string[];
  label: string;
  /** profile types holding the spans' samples (empty: unknown, any) */
  types: string[];
}

const quote = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const reEscape = (v: string): string => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The label selector of a span profile over these services: one equality, or a regex
 * alternation of several. No service: every profile (span ids alone select).
 */
export function servicesSelector(services: readonly string[]): string {
  const list = [...new Set(services.filter((s) => s !== ''))].sort();
  if (list.length === 0) return '{}';
  if (list.length === 1) return `{service_name=${quote(list[0])}}`;
  return `{service_name=~${quote(list.map(reEscape).join('|'))}}`;
}

/** The span profile of one profiled span: where its samples were seen, else its own service. */
export function spanPick(span: LinkedSpan, p: ProfiledSpan): SpanPick {
  return {
    selector: servicesSelector(p.services.length > 0 ? p.services : [span.service]),
    ids: [p.profileId],
    label: `span ${span.spanId}`,
    types: p.types,
  };
}

/** The merge of every profiled span of a trace, or null when none is profiled. */
export function wholeTracePick(
  spans: readonly LinkedSpan[],
  profiled: readonly ProfiledSpan[],
): SpanPick | null {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const ids = new Set<string>();
  const services = new Set<string>();
  const types = new Set<string>();
  for (const p of profiled) {
    const s = byId.get(p.spanId);
    if (!s) continue;
    ids.add(p.profileId);
    for (const t of p.types) types.add(t);
    for (const svc of p.services.length > 0 ? p.services : [s.service]) services.add(svc);
  }
  if (ids.size === 0) return null;
  return {
    selector: servicesSelector([...services]),
    ids: [...ids].sort(),
    label: `the whole trace (${ids.size} profiled span${ids.size === 1 ? '' : 's'})`,
    types: [...types].sort(),
  };
}

/**
 * The profile type a span profile opens in: the selected one when the spans have samples of it
 * (or nothing is known), else one they have, CPU first. A span profiled only for allocations
 * would otherwise show an empty CPU profile.
 */
export function spanProfileType(selected: string, types: readonly string[]): string {
  if (types.length === 0 || types.includes(selected)) return selected;
  return types.find((t) => t.startsWith('process_cpu:')) ?? types[0];
}

/**
 * Profiles are stored by their start and cover 10 s to 60 s: a span's instant lies in a profile
 * that began up to this long before it.
 */
export const RUNTIME_PAD_BEFORE_MS = 60_000;
export const RUNTIME_PAD_AFTER_MS = 15_000;

/**
 * The single view of a span's service instance (Datakit's advice: the resource attribute
 * runtime_id names the process, and its profiles carry the same runtime_id label), over the
 * span's time range widened to the profiles that can hold it; null when the span has none.
 */
export function runtimeLink(
  span: LinkedSpan,
): { service: string; filters: Filter[]; from: number; until: number; runtimeId: string } | null {
  const runtimeId = span.resource.runtime_id;
  if (!runtimeId) return null;
  return {
    service: span.service,
    filters: [{ name: 'runtime_id', op: '=', value: runtimeId }],
    from: Math.floor(span.startMs - RUNTIME_PAD_BEFORE_MS),
    until: Math.ceil(span.startMs + span.durationMs + RUNTIME_PAD_AFTER_MS),
    runtimeId,
  };
}
