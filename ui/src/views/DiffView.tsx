import { useMemo } from 'react';
import type { Api, Selection } from '../api';
import { Timeline, sumSeries } from '../components/Timeline';
import { FlameGraph } from '../flamegraph/FlameGraph';
import { treeFromDiff } from '../flamegraph/model';
import { TopTable } from '../flamegraph/TopTable';
import { dateTime } from '../format';
import { useAsync } from '../hooks';
import { MAX_NODES, stepFor } from './SingleView';

export const BASELINE = '#2563eb';
export const COMPARISON = '#9333ea';

/**
 * Two ranges of the same selection compared (querier.v1 Diff): frames whose share of the total
 * grew from the baseline to the comparison are red (regressions), those that shrank green.
 */
export function DiffView({
  api,
  q,
  left,
  right,
  unit,
  search,
  onSearch,
  onSides,
  nonce,
}: {
  api: Api;
  q: Selection;
  left: [number, number];
  right: [number, number];
  unit: string;
  search: string;
  onSearch: (s: string) => void;
  onSides: (left: [number, number], right: [number, number]) => void;
  nonce: number;
}) {
  const series = useAsync(
    () => api.selectSeries(q, stepFor(q.start, q.end)),
    [api, q.profileTypeID, q.labelSelector, q.start, q.end, nonce],
  );
  const diff = useAsync(
    () =>
      api.diff(
        { ...q, start: left[0], end: left[1] },
        { ...q, start: right[0], end: right[1] },
        MAX_NODES,
      ),
    [api, q.profileTypeID, q.labelSelector, left[0], left[1], right[0], right[1], nonce],
  );
  const tree = useMemo(() => (diff.data ? treeFromDiff(diff.data) : null), [diff.data]);
  const points = sumSeries(series.data ?? []);
  const bands = [
    { from: left[0], until: left[1], color: BASELINE, label: 'baseline' },
    { from: right[0], until: right[1], color: COMPARISON, label: 'comparison' },
  ];
  return (
    <>
      <section className="panel diff-timelines">
        <div>
          <h2>
            <span className="swatch" style={{ background: BASELINE }} /> Baseline{' '}
            <span className="muted" data-testid="baseline-range">
              {dateTime(left[0])} – {dateTime(left[1])}
            </span>
          </h2>
          <Timeline
            testId="timeline-baseline"
            points={points}
            from={q.start}
            until={q.end}
            stepMs={stepFor(q.start, q.end) * 1000}
            unit={unit}
            bands={bands.slice(0, 1)}
            onSelect={(a, b) => onSides([a, b], right)}
          />
        </div>
        <div>
          <h2>
            <span className="swatch" style={{ background: COMPARISON }} /> Comparison{' '}
            <span className="muted" data-testid="comparison-range">
              {dateTime(right[0])} – {dateTime(right[1])}
            </span>
          </h2>
          <Timeline
            testId="timeline-comparison"
            points={points}
            from={q.start}
            until={q.end}
            stepMs={stepFor(q.start, q.end) * 1000}
            unit={unit}
            bands={bands.slice(1)}
            onSelect={(a, b) => onSides(left, [a, b])}
          />
        </div>
        <p className="hint">
          Drag across each timeline to pick its range. <span className="worse">Red</span>: a larger
          share in the comparison (regression); <span className="better">green</span>: smaller.
        </p>
      </section>
      <section className="panel">
        {diff.error ? (
          <p className="error">Diff failed: {diff.error.message}</p>
        ) : !tree ? (
          <p className="muted">Loading…</p>
        ) : (
          <div className={diff.loading ? 'stale' : undefined}>
            <FlameGraph tree={tree} unit={unit} search={search} title="Diff" />
            <TopTable tree={tree} unit={unit} search={search} onPick={onSearch} />
          </div>
        )}
      </section>
    </>
  );
}
