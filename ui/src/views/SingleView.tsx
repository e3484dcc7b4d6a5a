import type { Api, Selection } from '../api';
import { Timeline, sumSeries } from '../components/Timeline';
import { useAsync } from '../hooks';
import { Profile } from './Profile';
import { SpansList } from './SpansList';

export const MAX_NODES = 4096;

/** Step (seconds) for about 150 points over the range, never below 10 s (Pyroscope's scrape period). */
export function stepFor(start: number, end: number): number {
  return Math.max(10, Math.round((end - start) / 1000 / 150));
}

export function SingleView({
  api,
  q,
  unit,
  search,
  onSearch,
  onRange,
  onTrace,
  onSpan,
  nonce,
}: {
  api: Api;
  q: Selection;
  unit: string;
  search: string;
  onSearch: (s: string) => void;
  onRange: (from: number, until: number) => void;
  onTrace: (traceId: string) => void;
  onSpan: (spanId: string) => void;
  nonce: number;
}) {
  const key = [api, q.profileTypeID, q.labelSelector, q.start, q.end, nonce];
  const series = useAsync(() => api.selectSeries(q, stepFor(q.start, q.end)), key);
  const fg = useAsync(() => api.selectMergeStacktraces(q, MAX_NODES), key);
  return (
    <>
      <section className="panel">
        <h2>Total over time</h2>
        {series.error ? (
          <p className="error">SelectSeries failed: {series.error.message}</p>
        ) : (
          <Timeline
            points={sumSeries(series.data ?? [])}
            from={q.start}
            until={q.end}
            stepMs={stepFor(q.start, q.end) * 1000}
            unit={unit}
            onSelect={onRange}
          />
        )}
        <p className="hint">Drag across the timeline to select a time range.</p>
      </section>
      <section className="panel">
        <Profile answer={fg} unit={unit} search={search} onSearch={onSearch} />
      </section>
      <SpansList api={api} q={q} unit={unit} nonce={nonce} onTrace={onTrace} onSpan={onSpan} />
    </>
  );
}
