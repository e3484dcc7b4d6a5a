// `npm run bench [-- pprof|jfr|query|e2e ...]`: every benchmark, side by side with its reference
// in one run, printed as ratios (research/performance.md, "Benchmark plan"). Results are also
// written to artifacts/bench.json for comparison between runs. Benchmarks measure; they never
// assert a time. `e2e` (the whole service under load, bench/e2e/e2e.ts) runs only when named:
// it takes minutes and starts Kafka and Redis.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../test/support/paths.js';
import { formatBenchTable, type BenchResult } from './bench-result.js';
import { runE2eBench } from './e2e/e2e.js';
import { runIngestScanBench } from './ingest-scan.js';
import { runJfrBench } from './jfr.js';
import { runOverloadBench } from './overload.js';
import { runPprofBench } from './pprof-decode.js';
import { runQueryMergeBench } from './query-merge.js';
import { runSpanLinksBench } from './span-links.js';

const suites: Record<string, () => Promise<BenchResult[]>> = {
  pprof: runPprofBench,
  jfr: runJfrBench,
  query: runQueryMergeBench,
  'span-links': runSpanLinksBench,
  overload: runOverloadBench,
  'ingest-scan': runIngestScanBench,
  e2e: () => runE2eBench(),
};
/** minutes long and need Kafka and Redis: run only when named (`npm run bench -- overload`) */
const explicitOnly = new Set(['overload', 'e2e', 'ingest-scan']);

/** The end-to-end run keeps its own results file, so it does not replace the others'. */
function outFile(names: readonly string[]): string {
  return names.length === 1 && explicitOnly.has(names[0]) ? `bench-${names[0]}.json` : 'bench.json';
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !(w in suites));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s) ${unknown.join(', ')}; choose from ${Object.keys(suites).join(', ')}`,
    );
    process.exit(2);
  }
  const names =
    wanted.length > 0 ? wanted : Object.keys(suites).filter((n) => !explicitOnly.has(n));
  const machine = `${cpus()[0]?.model ?? 'cpu'} x${availableParallelism()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`# Emberflow benchmarks on ${machine}\n`);
  const all: Record<string, BenchResult[]> = {};
  for (const name of names) {
    const t0 = Date.now();
    const results = await suites[name]();
    all[name] = results;
    console.log(`## ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    console.log(formatBenchTable(results));
    console.log('');
  }
  const dir = join(repoRoot(), 'artifacts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, outFile(names)),
    JSON.stringify({ machine, at: new Date().toISOString(), results: all }, null, 2),
  );
  console.log(`results written to artifacts/${outFile(names)}`);
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
