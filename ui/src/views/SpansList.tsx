import type { Api, Selection, SpanProfileEntry } from '../api';
import { formatValue } from '../format';
import { useAsync } from '../hooks';

/** How many span ids the list shows (the server's top N by value). */
export const SPAN_LIST_LIMIT = 50;

/**
 * The span ids present in the current selection (service, type, range, label filters), the
 * largest by value first, each with its trace from the span store: so nobody has to know a span
 * id to open its span profile or its trace's waterfall. Emberflow's /api/v1/span-profiles;
 * against a store without it the list says it is unavailable and the rest of the view works.
 */
export function SpansList({
  api,
  q,
  unit,
  nonce,
  onTrace,
  onSpan,
}: {
  api: Api;
  q: Selection;
  unit: string;
  nonce: number;
  onTrace: (traceId: string) => void;
  onSpan: (spanId: string) => void;
}) {
  const list = useAsync(
    () => api.spanProfiles(q, SPAN_LIST_LIMIT),
    [api, q.profileTypeID, q.labelSelector, q.start, q.end, nonce],
  );
  return (
    <section className="panel" data-testid="spans-list">
      <h2>Spans</h2>
      {list.error && <p className="error">Span list unavailable: {list.error.message}</p>}
      {!list.data && !list.error && <p className="muted">Loading…</p>}
      {list.data && list.data.spans.length === 0 && (
        <p className="muted">No sample of this selection carries a span id.</p>
      )}
      {list.data && list.data.spans.length > 0 && (
        <>
          <p className="hint" data-testid="spans-list-note">
            {list.data.distinct > list.data.spans.length
              ? `The top ${list.data.spans.length} of ${list.data.distinct} span ids by value in this selection.`
              : `All ${list.data.spans.length} span ids in this selection, by value.`}
          </p>
          <table className={`traces${list.loading ? ' stale' : ''}`}>
            <thead>
              <tr>
                <th>Span</th>
                <th>Value</th>
                <th>Trace</th>
                <th>Service</th>
                <th>Span name</th>
                <th>Duration</th>
              </tr>
            </thead>
            <tbody>
              {list.data.spans.map((s: SpanProfileEntry) => (
                <tr key={s.spanId} data-span-id={s.spanId}>
                  <td>
                    <button
                      type="button"
                      className="link span-open"
                      title="Open this span's profile"
                      onClick={() => onSpan(s.spanId)}
                    >
                      {s.spanId}
                    </button>
                  </td>
                  <td>{formatValue(s.value, unit)}</td>
                  <td>
                    {s.span ? (
                      <button
                        type="button"
                        className="link trace-open"
                        title="Open this trace's waterfall"
                        onClick={() => onTrace(s.span!.traceId)}
                      >
                        {s.span.traceId}
                      </button>
                    ) : (
                      <span className="muted" title="The span store has no span with this id">
                        not stored
                      </span>
                    )}
                  </td>
                  <td>{s.span?.service ?? ''}</td>
                  <td>{s.span?.name ?? ''}</td>
                  <td>{s.span ? `${s.span.durationMs.toFixed(1)} ms` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
