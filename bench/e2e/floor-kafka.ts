// The Kafka floor of the end-to-end benchmark: the producer alone. `senders` loops each publish
// one raw upload (the same body and headers ingest publishes) through the same KafkaBroker,
// waiting for the broker's acknowledgement (acks = all) before the next, for `durationMs`. What
// this costs per upload, in this process and in the broker, is what Kafka costs Emberflow.
//
//   node dist/bench/e2e/floor-kafka.js '<json FloorKafkaRequest>'
// prints one JSON line: FloorKafkaResult.
import { randomUUID } from 'node:crypto';
import { encodeRawUpload, KafkaBroker } from '../../libs/queue/index.js';
import type { IngestParams } from '../../libs/protocol/index.js';
import { buildPayload, type PayloadName } from './payloads.js';

export interface FloorKafkaRequest {
  brokers: string[];
  namespace: string;
  payload: PayloadName;
  senders: number;
  durationMs: number;
  warmupMs: number;
}

export interface FloorKafkaResult {
  ok: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  wallMs: number;
  cpuMs: number;
}

const TOPIC = 'bench.floor.v1';

async function main(): Promise<void> {
  const r = JSON.parse(process.argv[2]) as FloorKafkaRequest;
  const p = buildPayload(r.payload);
  const broker = new KafkaBroker({
    brokers: r.brokers,
    clientId: 'emberflow-bench-floor',
    namespace: r.namespace,
    requestTimeoutMs: 30_000,
    maxBytesPerPartition: 64 * 1024 * 1024,
    sessionTimeoutMs: 30_000,
    log: (level, message) => {
      if (level === 'error') process.stderr.write(`${message}\n`);
    },
  });
  await broker.start([
    { name: TOPIC, partitions: 6, maxMessageBytes: 33 * 1024 * 1024, retentionMs: 600_000 },
  ]);
  const params: IngestParams = {
    name: 'bench',
    appName: 'bench',
    labels: {},
    fromNanos: '0',
    untilNanos: '0',
    sampleRate: 100,
    spyName: 'gospy',
    units: '',
    aggregationType: '',
    formatParam: '',
  };
  let i = 0;
  const run = async (durationMs: number) => {
    const latencies: number[] = [];
    let ok = 0;
    let failed = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + durationMs;
    await Promise.all(
      Array.from({ length: r.senders }, async () => {
        while (performance.now() < end) {
          const n = i++;
          const s = performance.now();
          try {
            await broker.publish(TOPIC, [
              encodeRawUpload({
                uploadId: randomUUID(),
                tenant: 'anonymous',
                format: r.payload === 'jfr' ? 'jfr-form' : 'pprof-form',
                contentType: p.contentType,
                contentEncoding: '',
                params: { ...params, fromNanos: String(n), untilNanos: String(n + 1) },
                receivedAtMs: Date.now(),
                body: p.body,
              }),
            ]);
            ok++;
            latencies.push(performance.now() - s);
          } catch {
            failed++;
          }
        }
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    const q = (f: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))];
    return {
      ok,
      failed,
      p50Ms: q(0.5),
      p99Ms: q(0.99),
      wallMs: performance.now() - t0,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  };
  await run(r.warmupMs);
  process.stdout.write('measuring\n');
  const result: FloorKafkaResult = await run(r.durationMs);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await broker.close();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
