// The end-to-end benchmark's load generator, a child process of its own so that its CPU is not
// the server's and can be measured apart (the parent reads it from /proc, and it reports its own
// process.cpuUsage()). Each of `senders` loops sends one upload, waits for the answer, and sends
// the next, over keep-alive connections (one per sender), the way agents hold a connection
// open; every request carries its own time range (`from`/`until`), so none is a duplicate.
//
// Protocol (IPC): the parent sends a LoadRequest, the child answers with a LoadResult.
import { Agent, request } from 'node:http';
import { buildPayload, requestQuery, type Payload, type PayloadName } from './payloads.js';

export interface LoadRequest {
  url: string;
  payload: PayloadName;
  service: string;
  senders: number;
  durationMs: number;
  /** request i covers [baseSeconds + 10 i, +10 s) */
  baseSeconds: number;
  /** per request */
  timeoutMs: number;
}

export interface LoadResult {
  sent: number;
  /** answered 2xx */
  ok: number;
  statuses: Record<string, number>;
  /** connection errors and timeouts */
  failed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** from the first request to the last answer */
  wallMs: number;
  /** this process's own user + system CPU over the run */
  cpuMs: number;
  firstError?: string;
}

const payloads = new Map<PayloadName, Payload>();

function payloadOf(name: PayloadName): Payload {
  let p = payloads.get(name);
  if (!p) payloads.set(name, (p = buildPayload(name)));
  return p;
}

function post(
  agent: Agent,
  url: URL,
  path: string,
  p: Payload,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        headers: { 'content-type': p.contentType, 'content-length': p.body.length },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end(p.body);
  });
}

export async function runLoad(r: LoadRequest): Promise<LoadResult> {
  const p = payloadOf(r.payload);
  const url = new URL(r.url);
  const agent = new Agent({ keepAlive: true, maxSockets: r.senders });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + r.durationMs;
  const sender = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = next++;
      const path = `/ingest?${requestQuery(p, r.service, i, r.baseSeconds)}`;
      const s = performance.now();
      try {
        const status = await post(agent, url, path, p, r.timeoutMs);
        latencies.push(performance.now() - s);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 200 && status < 300) ok++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: r.senders }, sender));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (f: number): number =>
    latencies.length === 0
      ? NaN
      : latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))];
  return {
    sent: next,
    ok,
    statuses,
    failed,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: latencies.length === 0 ? NaN : latencies[latencies.length - 1],
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    firstError,
  };
}

if (process.send) {
  process.on('message', (m: LoadRequest) => {
    runLoad(m).then(
      (res) => process.send!({ ok: true, result: res }),
      (err: Error) => process.send!({ ok: false, error: err.stack ?? String(err) }),
    );
  });
  process.send({ ready: true });
}
