/**
 * One benchmark figure, ours against a reference measured side by side in the same run.
 * `ratio` is ours / reference for a higher-is-better unit (MB/s, ops/s) and reference / ours
 * for a lower-is-better one (ms), so a ratio above 1 always means we are ahead.
 */
export interface BenchResult {
  name: string;
  ours: number;
  reference: number;
  unit: string;
  ratio: number;
}

/** Formats results as an aligned plain-text table, one row per result. */
export function formatBenchTable(results: readonly BenchResult[]): string {
  const rows = [
    ['benchmark', 'ours', 'reference', 'unit', 'ratio'],
    ...results.map((r) => [
      r.name,
      r.ours.toFixed(1),
      r.reference.toFixed(1),
      r.unit,
      `${r.ratio.toFixed(2)}x`,
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c === 0 || c === 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join('  '),
    )
    .join('\n');
}
