import { useState } from 'react';
import type { Api, TraceHit, TraceSpan } from '../api';
import { useAsync } from '../hooks';
import {
  runtimeLink,
  spanPick,
  spanProfileType,
  wholeTracePick,
  type ProfiledSpan,
  type SpanPick,
} from '../span-links';
import { unitOf } from '../state';
import { Profile } from './Profile';
import { MAX_NODES } from './SingleView';

// Traces, read through the Tempo API of the same server: search (service, span name, minimum
// duration, the selected range), a list, and the waterfall of one trace (its id is in the
// address, so the Spans list of the flame graph links here). The waterfall marks the spans that
// have a span profile (one /api/v1/traces/{id}/profiled-spans answer per trace: the span id is
// a span_id sample label of a stored profile, or the span has `pyroscope.profile.id`); only
// those open their span profile (SelectMergeSpanProfile over the services holding their
// samples and the selected profile type), and "Profile of the whole trace" merges all of them.
// A span whose resource has runtime_id links to the profiles of that service instance.

function traceQL(service: string, name: string, minMs: string): string {
  const parts: string[] = [];
  const q = (v: string) => JSON.stringify(v);
  if (service.trim()) parts.push(`resource.service.name = ${q(service.trim())}`);
  if (name.trim()) parts.push(`name = ${q(name.trim())}`);
  const ms = Number(minMs);
  if (minMs.trim() && Number.isFinite(ms) && ms > 0) parts.push(`duration >= ${ms}ms`);
  return `{ ${parts.join(' && ')} }`;
}

export function TracesView({
  api,
  service,
  profileType,
  unit,
  start,
  end,
  search,
  onSearch,
  traceId,
  onTrace,
  onRuntime,
  nonce,
}: {
  api: Api;
  service: string;
  profileType: string;
  unit: string;
  start: number;
  end: number;
  search: string;
  onSearch: (s: string) => void;
  /** the trace whose waterfall is shown, '' for none */
  traceId: string;
  onTrace: (traceId: string) => void;
  /** opens the single view of a service instance (runtime_id filter, time range) */
  onRuntime: (link: NonNullable<ReturnType<typeof runtimeLink>>) => void;
  nonce: number;
}) {
  const [svc, setSvc] = useState(service);
  const [name, setName] = useState('');
  const [minMs, setMinMs] = useState('');
  const [query, setQuery] = useState<string | null>(null);
  const [picked, setPicked] = useState<SpanPick | null>(null);

  const hits = useAsync(query === null ? null : () => api.searchTraces(query, start, end, 50), [
    api,
    query,
    start,
    end,
    nonce,
  ]);
  const spans = useAsync(traceId ? () => api.trace(traceId) : null, [api, traceId, nonce]);
  const profiled = useAsync(traceId ? () => api.profiledSpans(traceId) : null, [
    api,
    traceId,
    nonce,
  ]);
  // the type the span profile is drawn in: the selected one, or one the spans have samples of
  const pickType = picked && profileType ? spanProfileType(profileType, picked.types) : profileType;
  const pickUnit = pickType === profileType ? unit : unitOf(pickType);
  const profile = useAsync(
    picked && pickType
      ? () =>
          api.selectMergeSpanProfile(
            { profileTypeID: pickType, labelSelector: picked.selector, start, end },
            picked.ids,
            MAX_NODES,
          )
      : null,
    [api, picked, pickType, start, end, nonce],
  );

  return (
    <>
      <section className="panel">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            onTrace('');
            setPicked(null);
            setQuery(traceQL(svc, name, minMs));
          }}
        >
          <label htmlFor="trace-service">Service</label>
          <input
            id="trace-service"
            value={svc}
            placeholder="any"
            onChange={(e) => setSvc(e.target.value)}
          />
          <label htmlFor="trace-name">Span name</label>
          <input
            id="trace-name"
            value={name}
            placeholder="any"
            onChange={(e) => setName(e.target.value)}
          />
          <label htmlFor="trace-min">Min duration (ms)</label>
          <input
            id="trace-min"
            value={minMs}
            inputMode="numeric"
            placeholder="0"
            onChange={(e) => setMinMs(e.target.value)}
          />
          <button type="submit">Search traces</button>
        </form>
        {query && (
          <p className="hint">
            TraceQL: <code>{query}</code>
          </p>
        )}
      </section>

      {query !== null && (
        <section className="panel">
          {hits.error && <p className="error">Search failed: {hits.error.message}</p>}
          {hits.data && hits.data.length === 0 && (
            <p className="muted">No trace in the selected range matches.</p>
          )}
          {hits.data && hits.data.length > 0 && (
            <table className="traces" data-testid="trace-list">
              <thead>
                <tr>
                  <th>Trace</th>
                  <th>Root service</th>
                  <th>Root span</th>
                  <th>Start</th>
                  <th>Duration</th>
                </tr>
              </thead>
              <tbody>
                {hits.data.map((t: TraceHit) => (
                  <tr
                    key={t.traceID}
                    className={t.traceID === traceId ? 'selected' : undefined}
                    onClick={() => {
                      onTrace(t.traceID);
                      setPicked(null);
                    }}
                  >
                    <td>
                      <button type="button" className="link">
                        {t.traceID}
                      </button>
                    </td>
                    <td>{t.rootServiceName}</td>
                    <td>{t.rootTraceName}</td>
                    <td>
                      {new Date(Number(BigInt(t.startTimeUnixNano) / 1_000_000n)).toISOString()}
                    </td>
                    <td>{t.durationMs} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}

      {traceId && (
        <section className="panel">
          <p className="hint">
            Trace <code data-testid="trace-id">{traceId}</code>
          </p>
          {spans.error && <p className="error">Trace failed: {spans.error.message}</p>}
          {profiled.error && (
            <p className="error">
              Which spans have profiles is unknown ({profiled.error.message}): no span profile
              links.
            </p>
          )}
          {/* drawn once both answers are in, so a row is never clickable before it is known
              to be profiled (and never flips under the pointer) */}
          {spans.data && spans.current && (profiled.current || profiled.error) && (
            <Waterfall
              spans={spans.data}
              profiled={profiled.data ?? []}
              picked={picked}
              onPick={setPicked}
              onRuntime={onRuntime}
            />
          )}
        </section>
      )}

      {picked && (
        <section className="panel" data-testid="span-profile">
          <p className="hint">
            Span profile of {picked.label} (<code>{picked.selector}</code>,{' '}
            <span data-testid="span-profile-type">{pickType || 'no profile type'}</span>)
            {pickType !== profileType && ' — the spans have no samples of the selected type'}
          </p>
          {!pickType ? (
            <p className="muted">Pick a profile type above.</p>
          ) : profile.data && profile.data.total === 0 ? (
            <p className="muted">
              No profile samples carry these span ids in the selected range and profile type.
            </p>
          ) : (
            <Profile answer={profile} unit={pickUnit} search={search} onSearch={onSearch} />
          )}
        </section>
      )}
    </>
  );
}

function Waterfall({
  spans,
  profiled,
  picked,
  onPick,
  onRuntime,
}: {
  spans: TraceSpan[];
  profiled: ProfiledSpan[];
  picked: SpanPick | null;
  onPick: (p: SpanPick) => void;
  onRuntime: (link: NonNullable<ReturnType<typeof runtimeLink>>) => void;
}) {
  if (spans.length === 0) return <p className="muted">The trace has no spans.</p>;
  const t0 = Math.min(...spans.map((s) => s.startMs));
  const t1 = Math.max(...spans.map((s) => s.startMs + s.durationMs));
  const total = Math.max(t1 - t0, 0.001);
  // depth from the parent chain, so children are indented under their parent
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const depth = (s: TraceSpan): number => {
    let d = 0;
    let cur = s;
    while (cur.parentSpanId && byId.has(cur.parentSpanId) && d < 64) {
      cur = byId.get(cur.parentSpanId)!;
      d++;
    }
    return d;
  };
  const profiledById = new Map(profiled.map((p) => [p.spanId, p]));
  const whole = wholeTracePick(spans, profiled);
  return (
    <>
      <div className="row">
        <strong>
          {spans.length} spans, {total.toFixed(1)} ms, {profiledById.size} profiled
        </strong>
        <button
          type="button"
          disabled={!whole}
          title={whole ? undefined : 'No span of this trace has profile samples'}
          onClick={() => whole && onPick(whole)}
        >
          Profile of the whole trace{whole ? ` (${whole.ids.length})` : ''}
        </button>
      </div>
      <div className="waterfall" data-testid="waterfall" role="list">
        {spans.map((s) => {
          const p = profiledById.get(s.spanId);
          const pick = p ? spanPick(s, p) : null;
          const runtime = runtimeLink(s);
          const selected =
            pick !== null && picked?.ids.length === 1 && picked.ids[0] === pick.ids[0];
          return (
            <div
              role="listitem"
              key={s.spanId}
              className={`span-row${selected ? ' selected' : ''}${s.status === 2 ? ' error' : ''}${p ? ' profiled' : ''}`}
              data-span-id={s.spanId}
              data-profiled={p ? 'true' : 'false'}
            >
              <button
                type="button"
                className="span-main"
                disabled={!pick}
                title={
                  pick
                    ? `${s.service}: ${s.name}, ${s.durationMs.toFixed(2)} ms (span ${s.spanId}): open its span profile`
                    : `${s.service}: ${s.name}, ${s.durationMs.toFixed(2)} ms (span ${s.spanId}): not profiled, no profile sample carries this span id`
                }
                onClick={() => pick && onPick(pick)}
              >
                <span className="span-label" style={{ paddingLeft: `${depth(s) * 12}px` }}>
                  {p && (
                    <span
                      className="span-badge"
                      role="img"
                      aria-label="profiled"
                      title={
                        p.via === 'attribute'
                          ? `profiled (pyroscope.profile.id ${p.profileId})`
                          : `profiled (span_id label in ${p.services.join(', ') || 'a profile'})`
                      }
                    >
                      ▲
                    </span>
                  )}
                  {s.service} · {s.name}
                </span>
                <span className="span-track">
                  <span
                    className="span-bar"
                    style={{
                      left: `${((s.startMs - t0) / total) * 100}%`,
                      width: `${Math.max((s.durationMs / total) * 100, 0.5)}%`,
                    }}
                  />
                </span>
                <span className="span-duration">{s.durationMs.toFixed(1)} ms</span>
              </button>
              {runtime ? (
                <button
                  type="button"
                  className="link runtime-link"
                  title={`Profiles of ${runtime.service} with runtime_id="${runtime.runtimeId}" around this span`}
                  onClick={() => onRuntime(runtime)}
                >
                  runtime_id {runtime.runtimeId}
                </button>
              ) : (
                <span />
              )}
            </div>
          );
        })}
      </div>
    </>
  );
}
