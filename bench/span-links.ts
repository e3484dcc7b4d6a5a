// The span links' cost (docs/traces.md, "In the web UI"): one hour of 10 s CPU profiles of one
// service (360 profiles from fixtures/pyroscope/pprof/profile_java, 2 614 samples each), every
// sample labelled with one of 300 span ids of its profile, as otel-profiling wrappers record.
//
// Rows:
//   - the flame graph's Spans list (topSpans: the top 50 span ids of the hour's selection)
//     against the flame graph of the same selection (SelectMergeStacktraces, maxNodes 16384):
//     the list should cost no more than the graph it sits under;
//   - a trace's profiled spans (profiledSpans: 20 span ids, the 75 s window of a trace) against
//     a 100 ms goal (one waterfall opening);
//   - the same for a whole hour's window (a trace an hour long, the widest the endpoint reads)
//     against the flame graph of that hour.
// Time is CPU time of this process (user + system), median of alternating runs.
//
// Run alone:  npx tsc -p tsconfig.build.json && node dist/bench/span-links.js
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { EmbeddedStore } from '../libs/backends/embedded-store/embedded-store.js';
import {
  profiledSpans,
  selectMergeStacktraces,
  topSpans,
} from '../libs/backends/embedded-store/query-engine.js';
import { decodePprof, encodePprof } from '../libs/model/index.js';
import type { NormalizedSeries } from '../libs/queue/index.js';
import { fixturePath } from '../test/support/paths.js';
import { alternate } from './alternating-runs.js';
import type { BenchResult } from './bench-result.js';
import { CPU, cpuSeries } from './cpu-series.js';
import { formatBenchTable } from './bench-result.js';

const PROFILES = 360;
const SPANS_PER_PROFILE = 300;
const STEP_MS = 10_000;
const ROUNDS = 5;

const spanId = (k: number, j: number): string =>
  (k * SPANS_PER_PROFILE + j + 1).toString(16).padStart(16, '0');

/** profile k of the hour: each sample labelled with one of the profile's span ids */
function withSpans(base: Buffer, k: number, atMs: number): Buffer {
  const p = decodePprof(base);
  const key = p.stringTable.length;
  p.stringTable.push('span_id');
  const first = p.stringTable.length;
  for (let j = 0; j < SPANS_PER_PROFILE; j++) p.stringTable.push(spanId(k, j));
  p.sample.forEach((s, i) => {
    s.label = [...s.label, { key, str: first + ((i * 7) % SPANS_PER_PROFILE), num: 0, numUnit: 0 }];
  });
  p.timeNanos = BigInt(atMs) * 1_000_000n;
  p.durationNanos = 10_000_000_000;
  return Buffer.from(encodePprof(p));
}

export async function runSpanLinksBench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ember-bench-spans-'));
  const store = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
  try {
    const raw = readFileSync(fixturePath('pyroscope', 'pprof', 'profile_java'));
    const base = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    const endMs = Date.now();
    const startMs = endMs - PROFILES * STEP_MS;
    const series: NormalizedSeries[] = [];
    for (let k = 0; k < PROFILES; k++) {
      const at = startMs + k * STEP_MS;
      series.push(cpuSeries(`bench-${k}`, 'java-app', at, STEP_MS, withSpans(base, k, at)));
    }
    await store.send(series);
    const q = {
      tenant: 'bench',
      profileTypeId: CPU,
      labelSelector: '{service_name="java-app"}',
      startMs,
      endMs: endMs + STEP_MS,
    };
    // a trace in the middle of the hour: 20 of profile k's span ids, its 75 s window
    const k = PROFILES >> 1;
    const traceIds = Array.from({ length: 20 }, (_, j) => spanId(k, j * 3));
    const traceAt = startMs + k * STEP_MS + 5_000;
    let found = 0;
    let listed = 0;
    const [list, graph] = alternate(
      ROUNDS,
      () => (listed = topSpans(store, q, 50).spans.length),
      () => selectMergeStacktraces(store, q, 16384),
    );
    const [trace] = alternate(
      ROUNDS * 4,
      () =>
        (found = profiledSpans(store, 'bench', traceIds, traceAt - 60_000, traceAt + 15_000).size),
      () => {},
    );
    const [hour] = alternate(
      ROUNDS,
      () => profiledSpans(store, 'bench', traceIds, q.startMs, q.endMs),
      () => {},
    );
    if (found !== traceIds.length) throw new Error(`found ${found} of ${traceIds.length} spans`);
    if (listed !== 50) throw new Error(`listed ${listed} spans`);
    return [
      {
        name: `span-links: top 50 span ids of ${PROFILES} profiles, vs their flame graph`,
        ours: list,
        reference: graph,
        unit: 'ms',
        ratio: graph / list,
      },
      {
        name: "span-links: a trace's 20 span ids over its 75 s window, vs 100 ms goal",
        ours: trace,
        reference: 100,
        unit: 'ms',
        ratio: 100 / trace,
      },
      {
        name: `span-links: 20 span ids over ${PROFILES} profiles (1 h window), vs their flame graph`,
        ours: hour,
        reference: graph,
        unit: 'ms',
        ratio: graph / hour,
      },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await runSpanLinksBench();
  console.log(formatBenchTable(results));
}
