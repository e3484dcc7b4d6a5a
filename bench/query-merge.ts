// The query benchmark: one hour of 10 s CPU profiles of one service (360 profiles built from
// fixtures/pyroscope/pprof/profile_java, 2 614 samples each, with stacks varied per profile so
// the merged tree keeps growing) merged through SelectMergeStacktraces over the embedded store:
// select the rows from SQLite, gunzip, decode, merge into the call tree, render Pyroscope's
// flame graph (maxNodes 16384, Grafana's default) and encode the binary response. Goal: < 1 s.
//
// Rows:
//   - ours against the same query with pprof-format (the npm pprof codec) decoding the profiles
//     instead of our codec, everything else equal: the decode share of the query;
//   - ours against the 1 s goal (reference = 1000 ms).
// Time is CPU time of this process (user + system), median of alternating runs, as the other
// benches do on a shared machine.
//
//   - production-shaped: twelve profiles of the 1.5 MB, 12,000-stack folded uploads
//     (test/support/production-shapes.ts), mostly distinct frames, about a million tree nodes:
//     CPU time against the 1 s goal, and the heap the merge holds at its end (before any GC)
//     against 256 MiB, the query worker's default budget (EMBER_QUERY_MEMORY_MB).
//
// Run alone:  npx tsc -p tsconfig.build.json && node dist/bench/query-merge.js
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofFormatProfile } from 'pprof-format';
import { EmbeddedStore } from '../libs/backends/embedded-store/embedded-store.js';
import { selectMergeStacktraces } from '../libs/backends/embedded-store/query-engine.js';
import { addProfile, newTree, toFlamegraph } from '../libs/backends/embedded-store/stack-tree.js';
import { ProfileBuilder, decodePprof, encodePprof, type Profile } from '../libs/model/index.js';
import { flamegraphResponse } from '../libs/pipeline/query/querier-messages.js';
import type { NormalizedSeries } from '../libs/queue/index.js';
import { fixturePath } from '../test/support/paths.js';
import { foldedUpload } from '../test/support/production-shapes.js';
import { alternate, cpuMs, median } from './alternating-runs.js';
import type { BenchResult } from './bench-result.js';
import { CPU, cpuSeries } from './cpu-series.js';
import { formatBenchTable } from './bench-result.js';

const PROFILES = 360;
const STEP_MS = 10_000;
const ROUNDS = 5;

/** profile k of the hour: a tenth of the functions renamed per k, values jittered */
function variant(base: Buffer, k: number, atMs: number): Buffer {
  const p = decodePprof(base);
  const names = new Map<number, number>();
  for (const f of p.function) {
    if ((f.id + k) % 10 === 0) {
      let idx = names.get(f.name);
      if (idx === undefined) {
        idx = p.stringTable.length;
        p.stringTable.push(`${p.stringTable[f.name]}$v${k % 24}`);
        names.set(f.name, idx);
      }
      f.name = idx;
    }
  }
  for (const s of p.sample) s.value = s.value.map((v) => Number(v) + ((k * 7919) % 1000) * 1000);
  p.timeNanos = BigInt(atMs) * 1_000_000n;
  p.durationNanos = 10_000_000_000;
  return Buffer.from(encodePprof(p));
}

/**
 * The same query decoding each profile's pprof with pprof-format (converted to our model for the
 * same merge). The store keeps only the compact form, so the pprof comes from the series sent.
 */
function mergeWithPprofFormat(
  store: EmbeddedStore,
  sent: ReadonlyMap<string, Buffer>,
  startMs: number,
  endMs: number,
): number {
  const tree = newTree();
  for (const s of store.select('bench', [], startMs, endMs)) {
    const pf = PprofFormatProfile.decode(sent.get(s.seriesId)!);
    const st = pf.stringTable.strings;
    const p = {
      stringTable: st,
      function: pf.function.map((f) => ({ id: Number(f.id), name: Number(f.name) })),
      location: pf.location.map((l) => ({
        id: Number(l.id),
        address: 0,
        line: l.line.map((ln) => ({ functionId: Number(ln.functionId) })),
      })),
      sample: pf.sample.map((x) => ({
        locationId: x.locationId.map(Number),
        value: x.value.map(Number),
        label: [],
      })),
    } as unknown as Profile;
    addProfile(tree, p, 0);
  }
  return toFlamegraph(tree, 16384).total;
}

/** A folded upload as the pprof the decoder makes of it (root first, one CPU sample per line). */
function foldedPprof(seed: number, atMs: number): Buffer {
  const b = new ProfileBuilder()
    .sampleType('cpu', 'nanoseconds')
    .period('cpu', 'nanoseconds', 10_000_000)
    .time(BigInt(atMs) * 1_000_000n, 10_000_000_000);
  for (const line of foldedUpload(seed).body.toString().split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp > 0) b.stack(line.slice(0, sp).split(';'), [Number(line.slice(sp + 1)) * 10_000_000]);
  }
  return Buffer.from(encodePprof(b.build()));
}

async function productionShaped(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ember-bench-query-big-'));
  const store = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
  try {
    const endMs = Date.now();
    const series: NormalizedSeries[] = [];
    for (let k = 0; k < 12; k++) {
      const at = endMs - 600_000 + k * STEP_MS;
      series.push(cpuSeries(`big-${k}`, 'big', at, STEP_MS, foldedPprof(k, at)));
    }
    await store.send(series);
    const q = {
      tenant: 'bench',
      profileTypeId: CPU,
      labelSelector: '{service_name="big"}',
      startMs: endMs - 3_600_000,
      endMs: endMs + STEP_MS,
    };
    const gc = (globalThis as { gc?: () => void }).gc;
    const times: number[] = [];
    const heaps: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      gc?.();
      const h0 = process.memoryUsage().heapUsed;
      const t = cpuMs();
      const fg = selectMergeStacktraces(store, q, 16384);
      flamegraphResponse(fg).proto();
      times.push(cpuMs() - t);
      heaps.push((process.memoryUsage().heapUsed - h0) / 1048576);
      if (fg.total <= 0) throw new Error('empty merge');
    }
    return [
      {
        name: 'query-merge: 12 x 12,000-stack profiles (1.5 MB uploads), vs 1 s goal',
        ours: median(times),
        reference: 1000,
        unit: 'ms',
        ratio: 1000 / median(times),
      },
      {
        name: `query-merge: 12 x 12,000-stack profiles, heap held at the end${gc ? '' : ' (run with --expose-gc)'}, vs 256 MiB`,
        ours: median(heaps),
        reference: 256,
        unit: 'MiB',
        ratio: 256 / median(heaps),
      },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runQueryMergeBench(): Promise<BenchResult[]> {
  return [...(await hourOfJavaProfiles()), ...(await productionShaped())];
}

async function hourOfJavaProfiles(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ember-bench-query-'));
  const store = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
  try {
    const raw = readFileSync(fixturePath('pyroscope', 'pprof', 'profile_java'));
    const base = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    const endMs = Date.now();
    const startMs = endMs - PROFILES * STEP_MS;
    const series: NormalizedSeries[] = [];
    for (let k = 0; k < PROFILES; k++) {
      const at = startMs + k * STEP_MS;
      series.push(cpuSeries(`bench-${k}`, 'java-app', at, STEP_MS, variant(base, k, at)));
    }
    const sent = new Map(series.map((x) => [x.seriesId, Buffer.from(x.pprof)]));
    await store.send(series);
    const q = {
      tenant: 'bench',
      profileTypeId: CPU,
      labelSelector: '{service_name="java-app"}',
      startMs,
      endMs: endMs + STEP_MS,
    };
    let checkOurs = 0;
    let checkRef = 0;
    const ours = (): void => {
      const fg = selectMergeStacktraces(store, q, 16384);
      flamegraphResponse(fg).proto();
      checkOurs = fg.total;
    };
    const reference = (): void => {
      checkRef = mergeWithPprofFormat(store, sent, q.startMs, q.endMs);
    };
    const [o, ref] = alternate(ROUNDS, ours, reference);
    if (checkOurs !== checkRef) throw new Error(`totals differ: ${checkOurs} vs ${checkRef}`);
    return [
      {
        name: `query-merge: ${PROFILES} x 10 s cpu profiles, vs decoding pprof per query (pprof-format)`,
        ours: o,
        reference: ref,
        unit: 'ms',
        ratio: ref / o,
      },
      {
        name: `query-merge: ${PROFILES} x 10 s cpu profiles, vs 1 s goal`,
        ours: o,
        reference: 1000,
        unit: 'ms',
        ratio: 1000 / o,
      },
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await runQueryMergeBench();
  console.log(formatBenchTable(results));
}
