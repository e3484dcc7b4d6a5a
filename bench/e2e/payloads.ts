// The two upload shapes of the end-to-end benchmark, built the way the agents build them
// (test/support/agent-requests.ts), and what the service must store for each: the series count
// and the per-type sample totals of one upload, computed here by decoding the body in-process
// with the same decoders, so the benchmark can check that every accepted upload was stored.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { decodeUpload, readFormParts } from '../../libs/decoders/index.js';
import { profileTypeIds } from '../../libs/model/index.js';
import { parseGoQuery, parseIngestRequest } from '../../libs/protocol/index.js';
import { goPprofForm, javaJfrForm, type AgentRequest } from '../../test/support/agent-requests.js';
import { fixturePath } from '../../test/support/paths.js';

export type PayloadName = 'pprof' | 'jfr';

export interface Payload {
  name: PayloadName;
  /** what it is, for the report */
  title: string;
  contentType: string;
  body: Buffer;
  /** the query parameters that stay the same; `from`/`until` are set per request */
  query: Record<string, string>;
  /** time unit of from/until as this agent sends them */
  timeUnit: 's' | 'ns';
  /** series one upload yields */
  seriesPerUpload: number;
  /** the profile type the store check queries, and one upload's total of it */
  checkType: string;
  checkTotal: number;
}

/** The Go SDK's multipart shape around an 18 KB gzipped pprof (profile_java, 51 KB raw). */
function pprofRequest(): AgentRequest {
  return goPprofForm('bench.app', readFileSync(fixturePath('pyroscope', 'pprof', 'profile_java')));
}

/** The Java agent's multipart shape around a 250 KB gzipped JFR with cpu, lock and alloc events. */
function jfrRequest(): AgentRequest {
  const jfr = readFileSync(
    fixturePath('pyroscope', 'jfr', 'cortex-dev-01__kafka-0__cpu_lock0_alloc0__0.jfr.gz'),
  );
  return javaJfrForm('bench.app', jfr);
}

export function buildPayload(name: PayloadName): Payload {
  const r = name === 'pprof' ? pprofRequest() : jfrRequest();
  const query = { ...r.query };
  delete query.from;
  delete query.until;
  const timeUnit = name === 'pprof' ? 'ns' : 's';
  const expected = expectedOutput(r, query, timeUnit);
  return {
    name,
    title:
      name === 'pprof'
        ? `Go SDK multipart, pprof ${(r.body.length / 1024).toFixed(1)} KB`
        : `Java agent multipart, JFR ${(r.body.length / 1024).toFixed(1)} KB (cpu+alloc+lock)`,
    contentType: r.headers['content-type'],
    body: r.body,
    query,
    timeUnit,
    ...expected,
  };
}

/** The query string of request `i`: the payload's parameters, a service and a distinct range. */
export function requestQuery(p: Payload, service: string, i: number, baseSeconds: number): string {
  const from = baseSeconds + i * 10;
  const until = from + 10;
  const t = (s: number): string => (p.timeUnit === 's' ? String(s) : `${s}000000000`);
  const q = new URLSearchParams({ ...p.query, name: service, from: t(from), until: t(until) });
  return q.toString();
}

function expectedOutput(
  r: AgentRequest,
  query: Record<string, string>,
  timeUnit: 's' | 'ns',
): Pick<Payload, 'seriesPerUpload' | 'checkType' | 'checkTotal'> {
  const now = Math.floor(Date.now() / 1000);
  const t = (s: number): string => (timeUnit === 's' ? String(s) : `${s}000000000`);
  const { params, format } = parseIngestRequest({
    query: parseGoQuery(
      new URLSearchParams({ ...query, from: t(now), until: t(now + 10) }).toString(),
    ),
    contentType: r.headers['content-type'],
    now: BigInt(Date.now()) * 1_000_000n,
  });
  const series = decodeUpload({
    format,
    body: r.body,
    parts: readFormParts(r.body, r.headers['content-type']),
    params,
    contentType: r.headers['content-type'],
  });
  // the CPU type when there is one (both shapes have it), else the first series' first type
  const typed = series.map((s) => ({
    s,
    types: profileTypeIds(s.labels.find((l) => l.name === '__name__')?.value ?? '', s.profile),
  }));
  const all = typed.flatMap((t) => t.types);
  const checkType = all.find((x) => x.startsWith('process_cpu:cpu:nanoseconds')) ?? all[0] ?? '';
  let checkTotal = 0;
  for (const { s, types } of typed) {
    const column = types.indexOf(checkType);
    if (column < 0) continue;
    for (const sample of s.profile.sample) checkTotal += Number(sample.value[column]);
  }
  return { seriesPerUpload: series.length, checkType, checkTotal };
}

/** Exposed for the report: the uncompressed size of what the upload carries. */
export function innerBytes(p: Payload): number {
  const parts = readFormParts(p.body, p.contentType);
  return parts.reduce(
    (n, x) => n + (x.data[0] === 0x1f ? gunzipSync(x.data).length : x.data.length),
    0,
  );
}
