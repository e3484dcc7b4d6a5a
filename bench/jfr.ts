// The JFR benchmark: our JFR → pprof conversion (libs/decoders/jfr) against grafana/jfr-parser's
// (Go, `pprof.ParseJFR`, the code Pyroscope runs), on the same uncompressed recordings and parse
// parameters (start 1706241880 s, end +10 s, sample rate 100, empty labels snapshot).
//
// Throughput is decimal MB of uncompressed JFR per second of process CPU time (user + system, all
// threads), median of ITERATIONS runs after WARMUP: the machine is shared, and wall time would
// measure the neighbours. The Go side (bench/go-jfr) measures the same way with GOMAXPROCS=1 and is
// run with `go run` when a Go toolchain is on PATH; otherwise its figures are NaN and a note says so.
//
// Memory: a child process decodes goland-multichunk once and reports the growth of its peak RSS
// during the decode (`memory` rows), plus the heap retained by the produced profiles; another
// decodes four copies back to back (49.7 MB, the 50 MiB case).
//
// Run alone:  npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/jfr.js
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decodeJfr, type JfrInput } from '../libs/decoders/jfr/index.js';
import { fixturePath, repoRoot } from '../test/support/paths.js';
import type { BenchResult } from './bench-result.js';
import { formatBenchTable } from './bench-result.js';

// A collector decodes for days: steady state is what counts. V8 tiers a function up over its
// first runs, and the optimising compiler works on background threads whose CPU time lands in the
// measured window, so 5 warm-ups left the first timed runs 2x slow. Go gets the same warm-up.
const WARMUP = 20;
const ITERATIONS = 21;
const INPUTS = ['async-profiler', 'goland-multichunk'];

const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    /* without --expose-gc, each run pays for the garbage of the one before */
  });

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function settle(): Promise<void> {
  gc();
  return new Promise((resolve) => setTimeout(resolve, 10));
}

function load(name: string): JfrInput {
  return {
    jfr: gunzipSync(readFileSync(fixturePath('bench', `${name}.jfr.gz`))),
    startNanos: 1706241880n * 1_000_000_000n,
    endNanos: 1706241890n * 1_000_000_000n,
    sampleRate: 100,
  };
}

/** Median CPU milliseconds of one decode. */
async function timeOurs(input: JfrInput): Promise<number> {
  for (let i = 0; i < WARMUP; i++) decodeJfr(input);
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    await settle();
    const t0 = cpuMs();
    decodeJfr(input);
    times.push(cpuMs() - t0);
  }
  return median(times);
}

interface GoResult {
  name: string;
  mbps: number;
  medianMs: number;
  version: string;
}

/** Runs bench/go-jfr; undefined (with the reason) when Go is unavailable or fails. */
function runGo(): { results: Map<string, GoResult> } | { note: string } {
  const probe = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    return { note: 'no Go toolchain on PATH: reference (grafana/jfr-parser) not measured' };
  }
  const dir = join(repoRoot(), 'bench', 'go-jfr');
  const files = INPUTS.map((n) => fixturePath('bench', `${n}.jfr.gz`));
  const r = spawnSync(
    'go',
    ['run', '.', '-runs', String(ITERATIONS), '-warmup', String(WARMUP), ...files],
    {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GOMAXPROCS: '1', GOFLAGS: '-mod=mod' },
      maxBuffer: 1 << 20,
    },
  );
  if (r.status !== 0)
    return { note: `go run failed: ${(r.stderr || String(r.error)).trim().slice(0, 500)}` };
  const results = new Map<string, GoResult>();
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const g = JSON.parse(line) as GoResult;
    results.set(g.name, g);
  }
  return { results };
}

/**
 * Child-process probe: peak RSS growth while decoding one recording (`repeat` copies of it back to
 * back: chunks are independent, so that is a valid recording of that many times the size), and
 * the heap retained by the result.
 */
function memoryProbe(
  name: string,
  repeat: number,
): { peakMB: number; retainedMB: number; inputMB: number } {
  const one = load(name);
  const input = { ...one, jfr: Buffer.concat(new Array<Uint8Array>(repeat).fill(one.jfr)) };
  gc();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  const maxRss0 = process.resourceUsage().maxRSS * 1024;
  const res = decodeJfr(input);
  const maxRss1 = process.resourceUsage().maxRSS * 1024;
  gc();
  const retained = process.memoryUsage().heapUsed - heap0;
  if (res.profiles.length === 0) throw new Error('no profiles');
  return {
    peakMB: (maxRss1 - Math.max(maxRss0, rss0)) / 1e6,
    retainedMB: retained / 1e6,
    inputMB: input.jfr.length / 1e6,
  };
}

function runMemoryProbe(
  name: string,
  repeat = 1,
): { peakMB: number; retainedMB: number; inputMB: number } | undefined {
  const self = fileURLToPath(import.meta.url);
  const args = ['--expose-gc', self, '--memory-probe', name, String(repeat)];
  const r = spawnSync(process.execPath, args, {
    cwd: dirname(self),
    encoding: 'utf8',
  });
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as ReturnType<typeof memoryProbe>;
}

/** Runs the JFR benchmarks; prints only the note about a missing Go toolchain. */
export async function runJfrBench(): Promise<BenchResult[]> {
  const go = runGo();
  if ('note' in go) console.log(`jfr bench: ${go.note}`);
  const results: BenchResult[] = [];
  for (const name of INPUTS) {
    const input = load(name);
    const ms = await timeOurs(input);
    const ours = input.jfr.length / 1e6 / (ms / 1e3);
    const ref = 'results' in go ? (go.results.get(name)?.mbps ?? NaN) : NaN;
    const version = 'results' in go ? (go.results.get(name)?.version ?? '?') : 'n/a';
    results.push({
      name: `jfr→pprof ${name} vs jfr-parser ${version}`,
      ours,
      reference: ref,
      unit: 'MB/s',
      ratio: ours / ref,
    });
  }
  const mem = runMemoryProbe('goland-multichunk');
  if (mem !== undefined) {
    // "reference" here is the uncompressed input size: ratio < 1 means peak above the input size.
    results.push({
      name: 'jfr goland-multichunk peak RSS growth vs input size',
      ours: mem.peakMB,
      reference: mem.inputMB,
      unit: 'MB',
      ratio: mem.inputMB / mem.peakMB,
    });
    results.push({
      name: 'jfr goland-multichunk retained profiles heap vs input size',
      ours: mem.retainedMB,
      reference: mem.inputMB,
      unit: 'MB',
      ratio: mem.inputMB / mem.retainedMB,
    });
  }
  // The bound: a 50 MiB recording must need no more than a small multiple of its size.
  const big = runMemoryProbe('goland-multichunk', 4);
  if (big !== undefined) {
    results.push({
      name: `jfr 4x goland-multichunk (${big.inputMB.toFixed(1)} MB) peak RSS growth vs input size`,
      ours: big.peakMB,
      reference: big.inputMB,
      unit: 'MB',
      ratio: big.inputMB / big.peakMB,
    });
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const probe = process.argv.indexOf('--memory-probe');
  if (probe >= 0) {
    console.log(
      JSON.stringify(memoryProbe(process.argv[probe + 1], Number(process.argv[probe + 2] ?? 1))),
    );
  } else {
    console.log(formatBenchTable(await runJfrBench()));
  }
}
