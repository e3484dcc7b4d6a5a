import { useState } from 'react';
import type { Api } from '../api';
import { useAsync } from '../hooks';
import { filterableLabelNames } from '../label-names';
import type { Filter } from '../state';

// Label filters, offered from LabelNames and LabelValues of the current selection.

export function LabelFilters({
  api,
  selector,
  start,
  end,
  filters,
  onChange,
}: {
  api: Api;
  selector: string;
  start: number;
  end: number;
  filters: Filter[];
  onChange: (f: Filter[]) => void;
}) {
  const [name, setName] = useState('');
  const [op, setOp] = useState<Filter['op']>('=');
  const [value, setValue] = useState('');
  const names = useAsync(() => api.labelNames([selector], start, end), [api, selector, start, end]);
  const values = useAsync(name ? () => api.labelValues(name, [selector], start, end) : null, [
    api,
    selector,
    start,
    end,
    name,
  ]);
  const add = (): void => {
    if (!name) return;
    onChange([...filters, { name, op, value }]);
    setValue('');
  };
  return (
    <div className="filters" data-testid="label-filters">
      {filters.map((f, i) => (
        <span key={`${f.name}${f.op}${f.value}${i}`} className="chip">
          {f.name}
          {f.op}&quot;{f.value}&quot;
          <button
            type="button"
            aria-label={`remove filter ${f.name}`}
            onClick={() => onChange(filters.filter((_, j) => j !== i))}
          >
            ×
          </button>
        </span>
      ))}
      <select
        aria-label="label name"
        value={name}
        onChange={(e) => {
          setName(e.target.value);
          setValue('');
        }}
      >
        <option value="">+ label filter…</option>
        {filterableLabelNames(names.data ?? []).map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      {name && (
        <>
          <select
            aria-label="operator"
            value={op}
            onChange={(e) => setOp(e.target.value as Filter['op'])}
          >
            <option value="=">=</option>
            <option value="!=">!=</option>
            <option value="=~">=~</option>
            <option value="!~">!~</option>
          </select>
          {op === '=' || op === '!=' ? (
            <select
              aria-label="label value"
              value={value}
              onChange={(e) => setValue(e.target.value)}
            >
              <option value="">(empty)</option>
              {(values.data ?? []).map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          ) : (
            <input
              aria-label="label value"
              value={value}
              placeholder="regular expression"
              onChange={(e) => setValue(e.target.value)}
              onKeyDown={(e) => e.key === 'Enter' && add()}
            />
          )}
          <button type="button" onClick={add}>
            Add
          </button>
        </>
      )}
    </div>
  );
}
