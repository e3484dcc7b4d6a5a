import { useMemo } from 'react';
import type { FlamegraphJson } from '../api';
import { FlameGraph } from '../flamegraph/FlameGraph';
import { treeFromFlamegraph } from '../flamegraph/model';
import { TopTable } from '../flamegraph/TopTable';
import type { Async } from '../hooks';

/** A merged profile: its flame graph above, its top functions below. */
export function Profile({
  answer,
  unit,
  search,
  onSearch,
  title,
}: {
  answer: Async<FlamegraphJson>;
  unit: string;
  search: string;
  onSearch: (s: string) => void;
  title?: string;
}) {
  const tree = useMemo(() => (answer.data ? treeFromFlamegraph(answer.data) : null), [answer.data]);
  if (answer.error) return <p className="error">Query failed: {answer.error.message}</p>;
  if (!tree) return <p className="muted">Loading…</p>;
  return (
    <div className={answer.loading ? 'stale' : undefined}>
      <FlameGraph tree={tree} unit={unit} search={search} title={title} />
      <TopTable tree={tree} unit={unit} search={search} onPick={onSearch} />
    </div>
  );
}
