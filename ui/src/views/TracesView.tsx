import { useState } from 'react';
import type { Api, TraceHit, TraceSpan } from '../api';
import { useAsync } from '../hooks';
import { Profile } from './Profile';
import { MAX_NODES } from './SingleView';

// Traces, read through the Tempo API of the same server: search (service, span name, minimum
// duration, the selected range), a list, the waterfall of one trace, and from any span its span
// profile (SelectMergeSpanProfile over the span's service and the selected profile type; the
// span's `pyroscope.profile.id` attribute when set, else its id), or the merge of every span
// of the trace.

function traceQL(service: string, name: string, minMs: string): string {
  const parts: string[] = [];
  const q = (v: string) => JSON.stringify(v);
  if (service.trim()) parts.push(`resource.service.name = ${q(service.trim())}`);
  if (name.trim()) parts.push(`name = ${q(name.trim())}`);
  const ms = Number(minMs);
  if (minMs.trim() && Number.isFinite(ms) && ms > 0) parts.push(`duration >= ${ms}ms`);
  return `{ ${parts.join(' && ')} }`;
}

const profileIdOf = (s: TraceSpan): string => s.attributes['pyroscope.profile.id'] || s.spanId;

export function TracesView({
  api,
  service,
  profileType,
  unit,
  start,
  end,
  search,
  onSearch,
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
  nonce: number;
}) {
  const [svc, setSvc] = useState(service);
  const [name, setName] = useState('');
  const [minMs, setMinMs] = useState('');
  const [query, setQuery] = useState<string | null>(null);
  const [traceId, setTraceId] = useState<string | null>(null);
  const [picked, setPicked] = useState<{ service: string; ids: string[]; label: string } | null>(
    null,
  );

  const hits = useAsync(query === null ? null : () => api.searchTraces(query, start, end, 50), [
    api,
    query,
    start,
    end,
    nonce,
  ]);
  const spans = useAsync(traceId ? () => api.trace(traceId) : null, [api, traceId, nonce]);
  const profile = useAsync(
    picked && profileType
      ? () =>
          api.selectMergeSpanProfile(
            {
              profileTypeID: profileType,
              labelSelector: `{service_name=${JSON.stringify(picked.service)}}`,
              start,
              end,
            },
            picked.ids,
            MAX_NODES,
          )
      : null,
    [api, picked, profileType, start, end, nonce],
  );

  return (
    <>
      <section className="panel">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            setTraceId(null);
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
                      setTraceId(t.traceID);
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
          {spans.error && <p className="error">Trace failed: {spans.error.message}</p>}
          {spans.data && <Waterfall spans={spans.data} picked={picked} onPick={setPicked} />}
        </section>
      )}

      {picked && (
        <section className="panel" data-testid="span-profile">
          <p className="hint">
            Span profile of {picked.label} ({picked.service}, {profileType || 'no profile type'})
          </p>
          {!profileType ? (
            <p className="muted">Pick a profile type above.</p>
          ) : profile.data && profile.data.total === 0 ? (
            <p className="muted">
              No profile samples carry these span ids in the selected range and profile type.
            </p>
          ) : (
            <Profile answer={profile} unit={unit} search={search} onSearch={onSearch} />
          )}
        </section>
      )}
    </>
  );
}

function Waterfall({
  spans,
  picked,
  onPick,
}: {
  spans: TraceSpan[];
  picked: { ids: string[] } | null;
  onPick: (p: { service: string; ids: string[]; label: string }) => void;
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
  const root = spans.find((s) => !s.parentSpanId) ?? spans[0];
  return (
    <>
      <div className="row">
        <strong>
          {spans.length} spans, {total.toFixed(1)} ms
        </strong>
        <button
          type="button"
          onClick={() =>
            onPick({
              service: root.service,
              ids: spans.filter((s) => s.service === root.service).map(profileIdOf),
              label: 'the whole trace',
            })
          }
        >
          Profile of the whole trace
        </button>
      </div>
      <div className="waterfall" data-testid="waterfall" role="list">
        {spans.map((s) => {
          const id = profileIdOf(s);
          return (
            <button
              type="button"
              role="listitem"
              key={s.spanId}
              className={`span-row${picked?.ids.length === 1 && picked.ids[0] === id ? ' selected' : ''}${s.status === 2 ? ' error' : ''}`}
              data-span-id={s.spanId}
              title={`${s.service}: ${s.name}, ${s.durationMs.toFixed(2)} ms (span ${s.spanId})`}
              onClick={() => onPick({ service: s.service, ids: [id], label: `span ${s.spanId}` })}
            >
              <span className="span-label" style={{ paddingLeft: `${depth(s) * 12}px` }}>
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
          );
        })}
      </div>
    </>
  );
}
