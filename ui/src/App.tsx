import { useEffect, useMemo, useState } from 'react';
import { ApiError, createApi, type ProfileType, type Selection } from './api';
import { LabelFilters } from './components/LabelFilters';
import { NoDataNotice } from './components/NoDataNotice';
import { SignIn } from './components/SignIn';
import { rangeText } from './format';
import { useAsync } from './hooks';
import { defaultProfileType } from './profile-types';
import { labelSelector, parseTime, unitOf, useUiState, type View } from './state';
import { DiffView } from './views/DiffView';
import { FleetView } from './views/FleetView';
import { SingleView } from './views/SingleView';
import { SpanView } from './views/SpanView';
import { TracesView } from './views/TracesView';

const PRESETS: [string, string][] = [
  ['now-15m', 'Last 15 minutes'],
  ['now-1h', 'Last hour'],
  ['now-6h', 'Last 6 hours'],
  ['now-24h', 'Last 24 hours'],
  ['now-7d', 'Last 7 days'],
];

const TABS: [View, string][] = [
  ['single', 'Flame graph'],
  ['diff', 'Diff'],
  ['spans', 'Spans'],
  ['traces', 'Traces'],
  ['fleet', 'Fleet'],
];

export function App() {
  const [s, update] = useUiState();
  const [nonce, setNonce] = useState(0);
  const [tenantDraft, setTenantDraft] = useState(s.tenant);
  useEffect(() => setTenantDraft(s.tenant), [s.tenant]);
  // A tenant's credential (sign-in form): in memory only, for that tenant only.
  const [auth, setAuth] = useState<{ tenant: string; authorization: string } | null>(null);
  const authorization = auth?.tenant === s.tenant ? auth.authorization : undefined;
  useEffect(() => setAuth((a) => (a && a.tenant === s.tenant ? a : null)), [s.tenant]);
  const api = useMemo(() => createApi(s.tenant, '', authorization), [s.tenant, authorization]);

  // relative times ("now-1h") are resolved once per change or refresh, so every panel of one
  // render asks about the same instant
  const { start, end, now } = useMemo(() => {
    const now = Date.now();
    return { start: parseTime(s.from, now), end: parseTime(s.until, now), now };
    // nonce: Refresh re-resolves "now"
  }, [s.from, s.until, nonce]);

  const services = useAsync(
    () => api.labelValues('service_name', [], start, end),
    [api, start, end],
  );
  const allTypes = useAsync(() => api.profileTypes(start, end), [api, start, end]);
  const serviceTypes = useAsync(
    s.service
      ? () => api.labelValues('__profile_type__', [labelSelector(s.service, [])], start, end)
      : null,
    [api, s.service, start, end],
  );
  const types: ProfileType[] = useMemo(() => {
    const all = allTypes.data ?? [];
    const mine = serviceTypes.data;
    return mine && mine.length > 0 ? all.filter((t) => mine.includes(t.ID)) : all;
  }, [allTypes.data, serviceTypes.data]);

  // pick a service and a profile type when none is chosen (or the chosen one is gone), from
  // answers about the current tenant and range only: right after a tenant switch the previous
  // tenant's list is still on screen
  useEffect(() => {
    const list = services.data;
    // a service named in the address is kept even when it has no data in this range
    if (services.current && list && list.length > 0 && s.service === '')
      update({ service: list[0] });
  }, [services.data, services.current, s.service, update]);
  const typesCurrent = allTypes.current && (s.service === '' || serviceTypes.current);
  useEffect(() => {
    if (!typesCurrent || types.length === 0 || types.some((t) => t.ID === s.type)) return;
    const t = defaultProfileType(types);
    if (t) update({ type: t.ID });
  }, [types, typesCurrent, s.type, update]);

  // 401: this tenant has credentials; ask for one (again, when the one sent was refused)
  const denied = [services.error, allTypes.error].find(
    (e): e is ApiError => e instanceof ApiError && e.status === 401,
  );

  const selector = labelSelector(s.service, s.filters);
  const q: Selection = { profileTypeID: s.type, labelSelector: selector, start, end };
  const unit = types.find((t) => t.ID === s.type)?.sampleUnit ?? unitOf(s.type);
  const ready = !denied && s.service !== '' && s.type !== '';
  const half = Math.round((start + end) / 2);
  const left = s.left ?? [start, half];
  const right = s.right ?? [half, end];

  const [exporting, setExporting] = useState<string | null>(null);
  const exportPprof = async (): Promise<void> => {
    setExporting('exporting…');
    try {
      const raw = await api.selectMergeProfile(q, 0);
      const blob = await gzip(raw);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `${s.service}-${s.type.split(':')[0]}-${start}-${end}.pb.gz`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      setExporting(null);
    } catch (err) {
      setExporting(`export failed: ${(err as Error).message}`);
    }
  };

  return (
    <div className="app">
      <header>
        <h1>
          <span className="logo">▲</span> Emberflow
        </h1>
        <form
          className="tenant"
          onSubmit={(e) => {
            e.preventDefault();
            update({ tenant: tenantDraft.trim(), service: '', type: '', filters: [] });
          }}
        >
          <label htmlFor="tenant">Tenant</label>
          <input
            id="tenant"
            value={tenantDraft}
            placeholder="anonymous"
            onChange={(e) => setTenantDraft(e.target.value)}
            onBlur={() =>
              tenantDraft.trim() !== s.tenant &&
              update({ tenant: tenantDraft.trim(), service: '', type: '', filters: [] })
            }
          />
          {authorization && (
            <button type="button" className="sign-out" onClick={() => setAuth(null)}>
              Sign out
            </button>
          )}
        </form>
        <nav className="tabs" role="tablist">
          {TABS.map(([v, label]) => (
            <button
              key={v}
              type="button"
              role="tab"
              aria-selected={s.view === v}
              onClick={() => update({ view: v })}
            >
              {label}
            </button>
          ))}
        </nav>
      </header>

      {denied && (
        <SignIn
          key={s.tenant}
          tenant={s.tenant}
          refused={authorization ? denied.message : null}
          onSignIn={(a) => setAuth({ tenant: s.tenant, authorization: a })}
        />
      )}

      {!denied && s.view !== 'fleet' && (
        <section className="controls panel">
          <div className="row">
            <label htmlFor="service">Service</label>
            <select
              id="service"
              value={s.service}
              onChange={(e) =>
                update({ service: e.target.value, filters: [], left: null, right: null })
              }
            >
              {!services.data?.includes(s.service) && (
                <option value={s.service}>{s.service || '—'}</option>
              )}
              {(services.data ?? []).map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
            <label htmlFor="profile-type">Profile type</label>
            <select
              id="profile-type"
              value={s.type}
              onChange={(e) => update({ type: e.target.value })}
            >
              {!types.some((t) => t.ID === s.type) && (
                <option value={s.type}>{s.type || '—'}</option>
              )}
              {types.map((t) => (
                <option key={t.ID} value={t.ID}>
                  {t.name} {t.sampleType} ({t.sampleUnit})
                </option>
              ))}
            </select>
            <label htmlFor="range">Range</label>
            <select
              id="range"
              value={s.until === 'now' ? s.from : ''}
              onChange={(e) =>
                update({ from: e.target.value, until: 'now', left: null, right: null })
              }
            >
              {s.until !== 'now' && <option value="">Custom</option>}
              {PRESETS.map(([v, label]) => (
                <option key={v} value={v}>
                  {label}
                </option>
              ))}
            </select>
            <span className="muted range" data-testid="range">
              {rangeText(start, end)}
            </span>
            <button
              type="button"
              onClick={() => {
                const span = end - start;
                const until = Math.min(Date.now(), end + span / 2);
                update({
                  from: String(Math.round(until - 2 * span)),
                  until: String(Math.round(until)),
                  left: null,
                  right: null,
                });
              }}
            >
              Zoom out
            </button>
            <button type="button" onClick={() => setNonce((n) => n + 1)}>
              Refresh
            </button>
            {s.view === 'single' && (
              <button type="button" disabled={!ready} onClick={() => void exportPprof()}>
                Export pprof
              </button>
            )}
            {exporting && <span className="muted">{exporting}</span>}
          </div>
          <div className="row">
            <LabelFilters
              api={api}
              selector={labelSelector(s.service, [])}
              start={start}
              end={end}
              filters={s.filters}
              onChange={(filters) => update({ filters })}
            />
            <input
              className="search"
              type="search"
              aria-label="search frames"
              placeholder="Search frames (text or /regex/)"
              value={s.search}
              onChange={(e) => update({ search: e.target.value })}
            />
          </div>
          <code className="selector" data-testid="selector">
            {selector}
          </code>
          {(services.error ?? allTypes.error) && (
            <p className="error">{(services.error ?? allTypes.error)?.message}</p>
          )}
          {services.current &&
            services.data &&
            (services.data.length === 0 ||
              (s.service !== '' && !services.data.includes(s.service))) && (
              <NoDataNotice
                api={api}
                service={s.service}
                now={now}
                onShow={(service, from, until) =>
                  update({
                    service,
                    type: service === s.service ? s.type : '',
                    filters: service === s.service ? s.filters : [],
                    from: String(from),
                    until: String(until),
                    left: null,
                    right: null,
                  })
                }
              />
            )}
        </section>
      )}

      <main>
        {s.view === 'fleet' && !denied && (
          <FleetView
            api={api}
            nonce={nonce}
            onOpen={(service) =>
              update({ view: 'single', service, type: '', filters: [], left: null, right: null })
            }
          />
        )}
        {s.view === 'single' && ready && (
          <SingleView
            api={api}
            q={q}
            unit={unit}
            search={s.search}
            onSearch={(search) => update({ search })}
            onRange={(a, b) =>
              update({ from: String(a), until: String(b), left: null, right: null })
            }
            onTrace={(trace) => update({ view: 'traces', trace })}
            onSpan={(spans) => update({ view: 'spans', spans })}
            nonce={nonce}
          />
        )}
        {s.view === 'diff' && ready && (
          <DiffView
            api={api}
            q={q}
            left={left}
            right={right}
            unit={unit}
            search={s.search}
            onSearch={(search) => update({ search })}
            onSides={(l, r) => update({ left: l, right: r })}
            nonce={nonce}
          />
        )}
        {s.view === 'traces' && !denied && (
          <TracesView
            key={s.tenant}
            api={api}
            service={s.service}
            profileType={s.type}
            unit={unit}
            start={start}
            end={end}
            search={s.search}
            onSearch={(search) => update({ search })}
            traceId={s.trace}
            onTrace={(trace) => update({ trace })}
            onRuntime={(l) =>
              update({
                view: 'single',
                service: l.service,
                filters: l.filters,
                from: String(l.from),
                until: String(l.until),
                left: null,
                right: null,
              })
            }
            nonce={nonce}
          />
        )}
        {s.view === 'spans' && ready && (
          <SpanView
            api={api}
            q={q}
            unit={unit}
            spans={s.spans}
            onSpans={(spans) => update({ spans })}
            search={s.search}
            onSearch={(search) => update({ search })}
            nonce={nonce}
          />
        )}
      </main>
    </div>
  );
}

/** pprof files are conventionally gzipped (`go tool pprof` reads both). */
async function gzip(raw: Uint8Array): Promise<Blob> {
  const plain = new Blob([raw as BlobPart], { type: 'application/octet-stream' });
  if (typeof CompressionStream === 'undefined') return plain;
  const stream = plain.stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).blob();
}
