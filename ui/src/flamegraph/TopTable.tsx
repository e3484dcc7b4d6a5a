import { useMemo, useState, type ReactNode } from 'react';
import { formatValue, percent, signedPercent } from '../format';
import { searchMatcher } from './FlameGraph';
import { topFunctions, type FrameTree, type FunctionRow } from './model';

// The top-functions table: self and total per function over the whole profile (total counted
// once per stack, so recursion does not inflate it), sortable by any column. For a diff, each
// side's values as shares of that side's total, and the change of the total's share.

interface Column {
  key: string;
  label: string;
  value: (r: FunctionRow) => number | string;
  cell: (r: FunctionRow) => ReactNode;
  className?: (r: FunctionRow) => string;
}

const LIMIT = 500;

export function TopTable({
  tree,
  unit,
  search,
  onPick,
}: {
  tree: FrameTree;
  unit: string;
  search: string;
  onPick?: (name: string) => void;
}) {
  // a diff lists the largest regressions first
  const [sort, setSort] = useState<{ key: string; desc: boolean }>(() => ({
    key: tree.diff ? 'change' : 'self',
    desc: true,
  }));
  const rows = useMemo(() => topFunctions(tree.root), [tree]);
  const matcher = useMemo(() => searchMatcher(search), [search]);
  const columns = useMemo(() => columnsFor(tree, unit), [tree, unit]);
  const sorted = useMemo(() => {
    const col = columns.find((c) => c.key === sort.key) ?? columns[1];
    return [...rows].sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      const c = typeof va === 'string' ? va.localeCompare(vb as string) : va - (vb as number);
      return (sort.desc ? -c : c) || a.name.localeCompare(b.name);
    });
  }, [rows, sort, columns]);

  return (
    <div className="top-table">
      <table data-testid="top-table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th
                key={c.key}
                aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}
                className={c.key === 'name' ? 'name' : 'num'}
              >
                <button
                  type="button"
                  className="link"
                  onClick={() =>
                    setSort((s) => ({
                      key: c.key,
                      desc: s.key === c.key ? !s.desc : c.key !== 'name',
                    }))
                  }
                >
                  {c.label}
                  {sort.key === c.key ? (sort.desc ? ' ▼' : ' ▲') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.slice(0, LIMIT).map((r) => (
            <tr
              key={r.name}
              className={matcher && matcher(r.name) ? 'match' : undefined}
              onClick={() => onPick?.(r.name)}
            >
              {columns.map((c) => (
                <td
                  key={c.key}
                  className={`${c.key === 'name' ? 'name' : 'num'} ${c.className?.(r) ?? ''}`.trim()}
                  title={c.key === 'name' ? r.name : undefined}
                >
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {sorted.length > LIMIT && (
        <p className="muted">
          {sorted.length - LIMIT} more functions not shown; search to narrow down.
        </p>
      )}
    </div>
  );
}

function columnsFor(tree: FrameTree, unit: string): Column[] {
  const name: Column = {
    key: 'name',
    label: 'Function',
    value: (r) => r.name,
    cell: (r) => r.name,
  };
  const amount = (v: number, of: number) => (
    <>
      {formatValue(v, unit)} <span className="muted">{percent(v, of)}</span>
    </>
  );
  const diff = tree.diff;
  if (!diff) {
    return [
      name,
      { key: 'self', label: 'Self', value: (r) => r.self, cell: (r) => amount(r.self, tree.total) },
      {
        key: 'total',
        label: 'Total',
        value: (r) => r.total,
        cell: (r) => amount(r.total, tree.total),
      },
    ];
  }
  const side = (
    key: string,
    label: string,
    pick: (r: FunctionRow) => number,
    of: number,
  ): Column => ({ key, label, value: pick, cell: (r) => amount(pick(r), of) });
  return [
    name,
    side('self', 'Self (baseline)', (r) => r.left?.self ?? 0, diff.leftTicks),
    side('rself', 'Self (comparison)', (r) => r.right?.self ?? 0, diff.rightTicks),
    side('total', 'Total (baseline)', (r) => r.left?.total ?? 0, diff.leftTicks),
    side('rtotal', 'Total (comparison)', (r) => r.right?.total ?? 0, diff.rightTicks),
    {
      key: 'change',
      label: 'Change',
      value: (r) => rowChange(r, diff),
      cell: (r) => signedPercent(rowChange(r, diff)),
      className: (r) => {
        const c = rowChange(r, diff);
        return c > 0.02 ? 'worse' : c < -0.02 ? 'better' : '';
      },
    },
  ];
}

function rowChange(r: FunctionRow, diff: NonNullable<FrameTree['diff']>): number {
  if (!r.left || !r.right) return 0;
  const l = diff.leftTicks > 0 ? r.left.total / diff.leftTicks : 0;
  const rr = diff.rightTicks > 0 ? r.right.total / diff.rightTicks : 0;
  if (l === 0) return rr === 0 ? 0 : Infinity;
  return (rr - l) / l;
}
