import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';

// The overload benchmark's load generator, a process of its own so its CPU is measured apart
// from the server's and a busy server cannot slow the prober in the parent. `senders` loops run
// concurrently, each on its own keep-alive connection, each sending the next upload as soon as
// the last is answered (closed loop: the offered load is what the server lets through). With
// `respectRetryAfter`, a sender waits the Retry-After of a 429/503 (capped at 5 s) first, as
// the agents do. Prints one JSON line (LoadReport) on stdout when the time is up.
//
// Run by bench/overload.ts; by hand:
//   node dist/bench/overload/load-generator.js '{"url":"http://127.0.0.1:9529",...}'

export interface LoadConfig {
  url: string;
  senders: number;
  durationMs: number;
  payloadPath: string;
  contentType: string;
  respectRetryAfter: boolean;
  /** tenants the senders are spread over (X-Scope-OrgID); [] = no header */
  tenants: string[];
}

export interface LoadReport {
  sent: number;
  byStatus: Record<string, number>;
  /** 429 and 503 answers that carried a Retry-After header */
  shedWithRetryAfter: number;
  shed: number;
  /** transport errors by code (ECONNRESET, EPIPE, timeout, ...) */
  errors: Record<string, number>;
  /** latency of every answered request, ms */
  latencyMs: { p50: number; p99: number; max: number };
  /** latency of the 2xx answers only */
  acceptedLatencyMs: { p50: number; p99: number; max: number };
  /** latency of the 429/503 answers only */
  shedLatencyMs: { p50: number; p99: number; max: number };
  elapsedMs: number;
  /** user + system CPU of this process */
  cpuMs: number;
  /** bytes of request bodies written */
  bodyBytes: number;
}

const CLIENT_TIMEOUT_MS = 120_000;

function quantiles(xs: number[]): { p50: number; p99: number; max: number } {
  if (xs.length === 0) return { p50: -1, p99: -1, max: -1 };
  const s = Float64Array.from(xs).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] };
}

export async function runLoad(c: LoadConfig): Promise<LoadReport> {
  const body = readFileSync(c.payloadPath);
  const target = new URL(c.url);
  const agent = new Agent({ keepAlive: true, maxSockets: c.senders, maxFreeSockets: c.senders });
  const byStatus: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const all: number[] = [];
  const accepted: number[] = [];
  const shedLat: number[] = [];
  let shed = 0;
  let shedWithRetryAfter = 0;
  let sent = 0;
  let bodyBytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const end = t0 + c.durationMs;

  const once = (sender: number, seq: number): Promise<number> =>
    new Promise((resolve) => {
      const untilS = Math.floor(Date.now() / 1000) + seq; // distinct per upload: no dedupe
      const q = new URLSearchParams({
        name: `overload-${sender % 10}.cpu{sender="${sender}"}`,
        from: String(untilS - 10),
        until: String(untilS),
        spyName: 'gospy',
        sampleRate: '100',
      });
      const headers: Record<string, string | number> = {
        'content-type': c.contentType,
        'content-length': body.length,
        'user-agent': 'emberflow-overload-bench/1',
      };
      if (c.tenants.length > 0) headers['x-scope-orgid'] = c.tenants[sender % c.tenants.length];
      const started = performance.now();
      let settled = false;
      const done = (waitMs: number): void => {
        if (!settled) {
          settled = true;
          resolve(waitMs);
        }
      };
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: `/ingest?${q}`,
          method: 'POST',
          agent,
          headers,
          timeout: CLIENT_TIMEOUT_MS,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            const ms = performance.now() - started;
            const status = res.statusCode ?? 0;
            byStatus[status] = (byStatus[status] ?? 0) + 1;
            all.push(ms);
            let wait = 0;
            if (status >= 200 && status < 300) accepted.push(ms);
            if (status === 429 || status === 503) {
              shed++;
              shedLat.push(ms);
              const ra = Number(res.headers['retry-after']);
              if (res.headers['retry-after'] !== undefined && Number.isFinite(ra)) {
                shedWithRetryAfter++;
                if (c.respectRetryAfter) wait = Math.min(5_000, ra * 1000);
              }
            }
            done(wait);
          });
          res.on('error', (err: NodeJS.ErrnoException) => {
            errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1;
            done(100);
          });
        },
      );
      req.on('timeout', () => {
        errors.client_timeout = (errors.client_timeout ?? 0) + 1;
        req.destroy();
        done(0);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        errors[err.code ?? err.message] = (errors[err.code ?? err.message] ?? 0) + 1;
        done(100);
      });
      sent++;
      bodyBytes += body.length;
      req.end(body);
    });

  const sender = async (i: number): Promise<void> => {
    // spread the first requests over 1 s, as agents that start together do not align exactly
    await new Promise((r) => setTimeout(r, (i * 1000) / c.senders));
    for (let seq = 0; Date.now() < end; seq++) {
      const wait = await once(i, seq);
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, end - Date.now())));
    }
  };
  await Promise.all(Array.from({ length: c.senders }, (_, i) => sender(i)));
  const elapsedMs = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return {
    sent,
    byStatus,
    shed,
    shedWithRetryAfter,
    errors,
    latencyMs: quantiles(all),
    acceptedLatencyMs: quantiles(accepted),
    shedLatencyMs: quantiles(shedLat),
    elapsedMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    bodyBytes,
  };
}

if (process.argv[1]?.endsWith('load-generator.js') && process.argv[2]) {
  runLoad(JSON.parse(process.argv[2]) as LoadConfig).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err) => {
      process.stderr.write(`load generator failed: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
