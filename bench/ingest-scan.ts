// The cost of the ingest-time structural scan (ADR 0013) against the ingest stage's CPU per
// upload. For each upload as the agents send it (gzipped pprof in the Go SDK's form, the Java
// agent's JFR form, a Push of a gzipped pprof):
//   ours       CPU per upload of what the scan adds: the bounded inflate and the scan
//   reference  CPU per upload of the whole ingest stage (HTTP, envelope, scan, dedupe, produce
//              to a real Kafka broker), measured on an in-process ingest target
// The ratio is printed as reference / ours; the share (ours / reference) is what ADR 0013's
// 10 % bound is about, and is printed below the table.
//
// Needs Kafka: EMBER_BENCH_KAFKA_BROKERS (or EMBER_TEST_KAFKA_BROKERS), default 127.0.0.1:19092.
// The ingest target takes a free test port (EMBER_TEST_PORT_RANGE narrows where).
// EMBER_BENCH_CPU_PROF=<dir> writes the ingest process's CPU profile (node --cpu-prof) there,
// to see where its CPU goes.
// Run: npm run bench -- ingest-scan
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import {
  inflatePprof,
  scanGzipJfrPrefix,
  scanJfrStructure,
  scanPprofStructure,
} from '../libs/decoders/index.js';
import { readJfrForm, readPprofForm, decompressJfrPart } from '../libs/protocol/index.js';
import {
  goPprofForm,
  javaJfrForm,
  pushRequest,
  type AgentRequest,
} from '../test/support/agent-requests.js';
import { fixturePath } from '../test/support/paths.js';
import { startEmberflow } from '../test/support/emberflow-process.js';
import type { BenchResult } from './bench-result.js';

const UPLOADS = 60;
const SCANS = 400;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Upload {
  name: string;
  request: AgentRequest;
  /** what the scan does for this upload, as ingest does it */
  scan(): void;
}

function uploads(): Upload[] {
  const out: Upload[] = [];
  for (const f of ['cpu.pb.gz', 'heap.pb.gz', 'profile_java']) {
    const bytes = readFileSync(fixturePath('pyroscope', 'pprof', f));
    const request = goPprofForm(`bench.${f.replace(/\W/g, '_')}`, bytes);
    // ingest reads the form anyway (its envelope checks): the scan adds inflate + scan
    const part = readPprofForm(request.body, request.headers['content-type']).profile!;
    out.push({
      name: `pprof form ${f} (${(bytes.length / 1024).toFixed(0)} KB)`,
      request,
      scan: () => void scanPprofStructure(inflatePprof(part, 64 << 20)),
    });
  }
  for (const f of ['cortex-dev-01__kafka-0__cpu__0.jfr.gz', 'dump2.jfr.gz']) {
    const jfr = readFileSync(fixturePath('pyroscope', 'jfr', f));
    const request = javaJfrForm('bench.java', gunzipSync(jfr));
    const part = readJfrForm(request.body, request.headers['content-type']).jfr;
    out.push({
      name: `jfr form ${f} (${(request.body.length / 1024).toFixed(0)} KB)`,
      request,
      // as ingest: the prefix and trailer of a single-chunk recording, else the whole part
      scan: () => {
        if (!scanGzipJfrPrefix(part, 64 << 20))
          scanJfrStructure(decompressJfrPart(part, 64 << 20, 'jfr'));
      },
    });
  }
  const heap = readFileSync(fixturePath('pyroscope', 'pprof', 'heap.pb.gz'));
  const push = pushRequest(
    { __name__: 'memory', service_name: 'bench-push' },
    heap,
    'proto',
    false,
  );
  out.push({
    name: `push heap.pb.gz (${(push.body.length / 1024).toFixed(0)} KB)`,
    request: push,
    // the Push envelope is decoded by ingest anyway; the scan adds inflate + scan per sample
    scan: () => void scanPprofStructure(inflatePprof(heap, 64 << 20)),
  });
  return out;
}

/** CPU time (user + system) of another process so far, ms, from /proc (Linux). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11], fields[12]: utime, stime in clock ticks (USER_HZ, 100 on Linux)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

export async function runIngestScanBench(): Promise<BenchResult[]> {
  const brokers =
    process.env.EMBER_BENCH_KAFKA_BROKERS ??
    process.env.EMBER_TEST_KAFKA_BROKERS ??
    '127.0.0.1:19092';
  const dir = mkdtempSync(join(tmpdir(), 'ember-bench-scan-'));
  writeFileSync(
    join(dir, 'config.yaml'),
    'limits:\n  ingestionRateBytes: 1073741824\n  ingestionBurstBytes: 1073741824\n',
  );
  // the ingest target in its own process, so its CPU is read from /proc without the client's
  const profDir = process.env.EMBER_BENCH_CPU_PROF;
  const ingest = await startEmberflow({
    targets: 'ingest',
    ...(profDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {}),
    env: {
      EMBER_DATA_DIR: dir,
      EMBER_CONFIG: join(dir, 'config.yaml'),
      EMBER_KAFKA_BROKERS: brokers,
      EMBER_NAMESPACE: `bench-${randomUUID().slice(0, 8)}-`,
      EMBER_LOG_LEVEL: 'error',
      EMBER_INGEST_MAX_EVENT_LOOP_DELAY: '0',
    },
  });
  const results: BenchResult[] = [];
  try {
    for (const u of uploads()) {
      const post = async (i: number): Promise<void> => {
        const q = new URLSearchParams({
          ...u.request.query,
          name: `${u.request.query.name ?? 'x'}{i=${i}}`,
        });
        const r = await fetch(`${ingest.url}${u.request.path}?${q.toString()}`, {
          method: 'POST',
          headers: u.request.headers,
          body: u.request.body,
        });
        if (r.status !== 200) throw new Error(`${u.name}: ${r.status} ${await r.text()}`);
      };
      for (let i = 0; i < 10; i++) await post(-i - 1); // warm-up
      const c0 = processCpuMs(ingest.pid);
      for (let i = 0; i < UPLOADS; i++) await post(i);
      const ingestMs = (processCpuMs(ingest.pid) - c0) / UPLOADS;
      for (let i = 0; i < 20; i++) u.scan();
      const s0 = cpuMs();
      for (let i = 0; i < SCANS; i++) u.scan();
      const scanMs = (cpuMs() - s0) / SCANS;
      results.push({
        name: `scan vs ingest CPU/upload: ${u.name}`,
        ours: scanMs,
        reference: ingestMs,
        unit: 'ms',
        ratio: ingestMs / scanMs,
      });
      console.log(
        `${u.name}: scan ${scanMs.toFixed(3)} ms, ingest ${ingestMs.toFixed(3)} ms per upload: ${((100 * scanMs) / ingestMs).toFixed(1)} % of ingest CPU`,
      );
    }
  } finally {
    await ingest.stop();
  }
  return results;
}
