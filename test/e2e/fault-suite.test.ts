import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEmberflow, type EmberProcess } from '../support/emberflow-process.js';
import { topicRecords } from '../support/kafka-admin.js';
import { selectMergeStacktraces, selfByName, waitFor } from '../support/query-client.js';
import { restartService, suiteEnv } from '../support/services.js';

// The fault suite: the three-process topology on the real broker and Redis under a steady load
// of uploads, each with a leaf frame and a value of its own, while one thing goes wrong at a
// time: the decoder killed -9, the exporter killed -9, the broker restarted, Redis restarted.
// The senders behave like agents (a 5xx or 429 is retried with backoff; only a 200 counts as
// accepted). Afterwards every accepted upload must be stored exactly once: accepted = stored,
// 0 lost, 0 duplicated, per fault. The figures are printed for the record.

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const NS = 10_000_000;
const SERVICES = 6;
const SENDERS = 4;
const LOAD_MS = 9_000;
const FAULT_AT_MS = 3_000;

interface Figures {
  fault: string;
  accepted: number;
  stored: number;
  lost: number;
  duplicated: number;
  refused: number;
}

describe('fault suite: kill -9, broker and Redis restarts under steady load lose and duplicate nothing (real Kafka and Redis, three processes)', () => {
  let env: Record<string, string>;
  const procs: { ingest?: EmberProcess; decoder?: EmberProcess; exporter?: EmberProcess } = {};
  const figures: Figures[] = [];

  before(async () => {
    env = suiteEnv({ EMBER_KAFKA_REQUEST_TIMEOUT: '5s' });
    const cfg = join(env.EMBER_DATA_DIR, 'emberflow.yaml');
    writeFileSync(cfg, 'limits:\n  ingestionRateBytes: 0\n');
    env.EMBER_CONFIG = cfg;
    procs.exporter = await startEmberflow({ targets: 'exporter', env });
    procs.decoder = await startEmberflow({ targets: 'decoder', env });
    procs.ingest = await startEmberflow({ targets: 'ingest', env });
  });
  after(async () => {
    for (const p of [procs.ingest, procs.decoder, procs.exporter]) await p?.stop();
    if (figures.length > 0) {
      console.log('# fault        accepted  stored  lost  duplicated  refused(5xx/429, retried)');
      for (const f of figures)
        console.log(
          `# ${f.fault.padEnd(12)} ${String(f.accepted).padStart(8)} ${String(f.stored).padStart(7)} ${String(f.lost).padStart(5)} ${String(f.duplicated).padStart(11)} ${String(f.refused).padStart(8)}`,
        );
    }
  });

  /** What the processes said and say, for a failed fault: warnings and errors, readiness. */
  async function diagnosis(): Promise<string> {
    const out: string[] = [];
    for (const [name, p] of Object.entries(procs)) {
      if (!p) continue;
      const ready = await fetch(`${p.url}/readyz`)
        .then(async (r) => `${r.status} ${(await r.text()).slice(0, 600)}`)
        .catch((e: Error) => `unreachable: ${e.message}`);
      const said = p
        .output()
        .split('\n')
        .filter((l) => /"level":"(warn|error)"/.test(l))
        .slice(-20)
        .map((l) => l.slice(0, 400));
      out.push(`# --- ${name}: /readyz ${ready}`, ...said.map((l) => `#   ${l}`));
    }
    return out.join('\n');
  }

  /** Runs the load for LOAD_MS with `fault` at FAULT_AT_MS; checks and records the figures. */
  async function underLoad(fault: string, inject: () => Promise<void>): Promise<void> {
    const run = `${fault}-${randomUUID().slice(0, 4)}`;
    const now = Math.floor(Date.now() / 1000);
    const accepted = new Map<string, { service: string; value: number }>();
    let refused = 0;
    let seq = 0;
    const end = Date.now() + LOAD_MS;
    const sender = async (id: number): Promise<void> => {
      while (Date.now() < end) {
        const n = seq++;
        const leaf = `leaf_${run}_${n}`;
        const service = `fault-${run}-${n % SERVICES}`;
        const value = 1 + (n % 9);
        // Upload n covers second n of the hour before `now`, so however many uploads a fast
        // machine sends in LOAD_MS, every one lies inside the window the check queries.
        const from = now - 3600 + (n % 3600);
        const url = `${procs.ingest!.url}/ingest?name=${service}.cpu&from=${from}&until=${from + 1}`;
        for (let attempt = 0; ; attempt++) {
          let status = 0;
          try {
            const r = await fetch(url, { method: 'POST', body: `main;w${id};${leaf} ${value}\n` });
            status = r.status;
            await r.arrayBuffer();
          } catch {
            status = 0; // connection refused: the agent retries
          }
          if (status === 200) {
            accepted.set(leaf, { service, value: value * NS });
            break;
          }
          assert.ok(status === 0 || status === 429 || status >= 500, `upload ${n}: ${status}`);
          refused++;
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    };
    const load = Promise.all(Array.from({ length: SENDERS }, (_, i) => sender(i)));
    await new Promise((r) => setTimeout(r, FAULT_AT_MS));
    await inject();
    await load;

    const stored = async (): Promise<Map<string, number>> => {
      const out = new Map<string, number>();
      for (let s = 0; s < SERVICES; s++) {
        const fg = await selectMergeStacktraces(procs.exporter!.url, {
          profileTypeID: CPU,
          labelSelector: `{service_name="fault-${run}-${s}"}`,
          start: (now - 3660) * 1000,
          end: (now + 60) * 1000,
        });
        for (const [name, v] of selfByName(fg.flamegraph))
          if (name.startsWith('leaf_')) out.set(name, v);
      }
      return out;
    };
    const expectedTotal = [...accepted.values()].reduce((n, a) => n + a.value, 0);
    let got = new Map<string, number>();
    await waitFor(`every accepted upload of ${fault} stored`, 180_000, async () => {
      got = await stored();
      let total = 0;
      for (const v of got.values()) total += v;
      return total >= expectedTotal ? true : undefined;
    }).catch(() => undefined); // the figures below say what is missing
    await new Promise((r) => setTimeout(r, 2000)); // a duplicate would land by now
    got = await stored();
    let lost = 0;
    let duplicated = 0;
    for (const [leaf, a] of accepted) {
      const v = got.get(leaf) ?? 0;
      if (v < a.value) lost++;
      if (v > a.value) duplicated++;
    }
    const f: Figures = {
      fault,
      accepted: accepted.size,
      stored: accepted.size - lost,
      lost,
      duplicated,
      refused,
    };
    figures.push(f);
    console.log(`# ${fault}: ${JSON.stringify(f)}`);
    if (lost > 0 || duplicated > 0) console.log(await diagnosis());
    assert.ok(accepted.size > 40, `only ${accepted.size} uploads accepted`);
    assert.equal(lost, 0, `${fault}: ${lost} accepted uploads lost`);
    assert.equal(duplicated, 0, `${fault}: ${duplicated} uploads stored twice`);
    const strays = [...got.keys()].filter((leaf) => !accepted.has(leaf));
    assert.deepEqual(strays, [], 'nothing stored that was not answered 200');
  }

  it('kill -9 of the decoder', async () => {
    await underLoad('kill-decoder', async () => {
      await procs.decoder!.kill();
      await new Promise((r) => setTimeout(r, 1500));
      procs.decoder = await startEmberflow({ targets: 'decoder', env });
    });
  });

  it('kill -9 of the exporter', async () => {
    await underLoad('kill-exporter', async () => {
      await procs.exporter!.kill();
      await new Promise((r) => setTimeout(r, 1500));
      procs.exporter = await startEmberflow({ targets: 'exporter', env });
    });
  });

  it('broker restart', async () => {
    await underLoad('kafka-restart', async () => restartService('kafka'));
  });

  it('Redis restart', async () => {
    await underLoad('redis-restart', async () => restartService('redis'));
  });

  it('dead-lettered nothing through all of it', async () => {
    const ns = env.EMBER_NAMESPACE;
    assert.equal(await topicRecords(`${ns}profiles.raw.v1.dlq`), 0);
    assert.equal(await topicRecords(`${ns}profiles.normalized.v1.dlq`), 0);
  });
});
