import { useCallback, useEffect, useRef, useState } from 'react';

// What the user picked, kept in the address (so a view can be bookmarked, shared and reloaded):
// ?tenant=&service=&type=&from=&until=&f=&view=&search=&lf=&lu=&rf=&ru=&spans=&trace=

export type View = 'single' | 'diff' | 'spans' | 'traces' | 'fleet';

export interface Filter {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface UiState {
  tenant: string;
  service: string;
  type: string;
  /** 'now-1h' style or milliseconds since the epoch */
  from: string;
  until: string;
  filters: Filter[];
  view: View;
  search: string;
  /** diff sides (milliseconds); unset: the first and second half of the range */
  left: [number, number] | null;
  right: [number, number] | null;
  spans: string;
  /** the trace whose waterfall the Traces view shows ('' = none) */
  trace: string;
}

const VIEWS: View[] = ['single', 'diff', 'spans', 'traces', 'fleet'];

function pair(a: string | null, b: string | null): [number, number] | null {
  const x = Number(a);
  const y = Number(b);
  return a && b && Number.isFinite(x) && Number.isFinite(y) && x < y ? [x, y] : null;
}

export function readState(search: string): UiState {
  const p = new URLSearchParams(search);
  let filters: Filter[] = [];
  try {
    const raw = JSON.parse(p.get('f') ?? '[]') as unknown;
    if (Array.isArray(raw))
      filters = raw.filter(
        (x): x is Filter =>
          typeof x === 'object' &&
          x !== null &&
          typeof (x as Filter).name === 'string' &&
          ['=', '!=', '=~', '!~'].includes((x as Filter).op) &&
          typeof (x as Filter).value === 'string',
      );
  } catch {
    filters = [];
  }
  const view = p.get('view') as View;
  return {
    tenant: p.get('tenant') ?? localStorage.getItem('emberflow.tenant') ?? '',
    service: p.get('service') ?? '',
    type: p.get('type') ?? '',
    from: p.get('from') ?? 'now-1h',
    until: p.get('until') ?? 'now',
    filters,
    view: VIEWS.includes(view) ? view : 'single',
    search: p.get('search') ?? '',
    left: pair(p.get('lf'), p.get('lu')),
    right: pair(p.get('rf'), p.get('ru')),
    spans: p.get('spans') ?? '',
    trace: p.get('trace') ?? '',
  };
}

export function writeState(s: UiState): string {
  const p = new URLSearchParams();
  if (s.tenant) p.set('tenant', s.tenant);
  if (s.service) p.set('service', s.service);
  if (s.type) p.set('type', s.type);
  p.set('from', s.from);
  p.set('until', s.until);
  if (s.filters.length > 0) p.set('f', JSON.stringify(s.filters));
  if (s.view !== 'single') p.set('view', s.view);
  if (s.search) p.set('search', s.search);
  if (s.left) {
    p.set('lf', String(s.left[0]));
    p.set('lu', String(s.left[1]));
  }
  if (s.right) {
    p.set('rf', String(s.right[0]));
    p.set('ru', String(s.right[1]));
  }
  if (s.spans) p.set('spans', s.spans);
  if (s.trace) p.set('trace', s.trace);
  return `?${p.toString()}`;
}

export function useUiState(): [UiState, (patch: Partial<UiState>) => void] {
  const [state, setState] = useState(() => readState(window.location.search));
  const current = useRef(state);
  useEffect(() => {
    const onPop = (): void => {
      current.current = readState(window.location.search);
      setState(current.current);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const update = useCallback((patch: Partial<UiState>) => {
    const next = { ...current.current, ...patch };
    current.current = next;
    const url = writeState(next);
    if (url !== window.location.search) {
      // typing a search replaces the history entry; every other change adds one (Back undoes it)
      const onlySearch = Object.keys(patch).every((k) => k === 'search');
      if (onlySearch) window.history.replaceState(null, '', url);
      else window.history.pushState(null, '', url);
    }
    if (patch.tenant !== undefined) localStorage.setItem('emberflow.tenant', patch.tenant);
    setState(next);
  }, []);
  return [state, update];
}

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** 'now', 'now-15m', 'now-2d' or milliseconds since the epoch. */
export function parseTime(s: string, now: number): number {
  if (s === 'now') return now;
  const m = /^now-(\d+)([smhdw])$/.exec(s);
  if (m) return now - Number(m[1]) * UNITS[m[2]];
  const n = Number(s);
  return Number.isFinite(n) && n > 0 ? n : now;
}

/** A Prometheus-style label selector: {service_name="svc",env=~"prod.*"}. */
export function labelSelector(service: string, filters: Filter[]): string {
  const q = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const parts: string[] = [];
  if (service) parts.push(`service_name=${q(service)}`);
  for (const f of filters) parts.push(`${f.name}${f.op}${q(f.value)}`);
  return `{${parts.join(',')}}`;
}

/** name:sample_type:sample_unit:period_type:period_unit → sample_unit */
export function unitOf(profileTypeId: string): string {
  return profileTypeId.split(':')[2] ?? '';
}
