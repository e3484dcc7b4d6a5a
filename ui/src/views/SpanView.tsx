import { useState } from 'react';
import type { Api, Selection } from '../api';
import { useAsync } from '../hooks';
import { Profile } from './Profile';
import { MAX_NODES } from './SingleView';

/** The profile of some spans (querier.v1 SelectMergeSpanProfile): span ids, 16 hex digits each. */
export function SpanView({
  api,
  q,
  unit,
  spans,
  onSpans,
  search,
  onSearch,
  nonce,
}: {
  api: Api;
  q: Selection;
  unit: string;
  spans: string;
  onSpans: (s: string) => void;
  search: string;
  onSearch: (s: string) => void;
  nonce: number;
}) {
  const [draft, setDraft] = useState(spans);
  const ids = spans
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const fg = useAsync(
    ids.length === 0 ? null : () => api.selectMergeSpanProfile(q, ids, MAX_NODES),
    [api, q.profileTypeID, q.labelSelector, q.start, q.end, spans, nonce],
  );
  return (
    <>
      <section className="panel">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            onSpans(draft.trim());
          }}
        >
          <label htmlFor="span-ids">Span ids</label>
          <input
            id="span-ids"
            className="grow"
            value={draft}
            placeholder="e.g. 9a3f0c1d2e4b5a69, 0011223344556677"
            onChange={(e) => setDraft(e.target.value)}
          />
          <button type="submit">Show span profile</button>
        </form>
        <p className="hint">
          Profiles recorded with span ids (pprof label <code>span_id</code>) within the selected
          range and labels.
        </p>
      </section>
      <section className="panel">
        {ids.length === 0 ? (
          <p className="muted">Enter one or more span ids.</p>
        ) : (
          <Profile answer={fg} unit={unit} search={search} onSearch={onSearch} />
        )}
      </section>
    </>
  );
}
