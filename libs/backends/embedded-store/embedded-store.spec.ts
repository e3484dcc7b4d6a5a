import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { cpuSeries } from '../../pipeline/query/testing.js';
import { EmbeddedStore } from './embedded-store.js';
import { decodePprofFlat, splitPprof } from '../../model/pprof/index.js';
import { compactFlat, encodeCompact } from '../../model/index.js';
import {
  decodeNormalizedSeries,
  encodeNormalizedSeries,
  partSeriesId,
  type IncomingMessage,
} from '../../queue/index.js';
import { mergeTree, selectHeatmap, selectSeries } from './query-engine.js';

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const q = (tenant = 'anonymous') => ({
  tenant,
  profileTypeId: CPU,
  labelSelector: '{}',
  startMs: 0,
  endMs: Date.now() + 3600_000,
});

describe('embedded store', () => {
  it('survives a restart, and stores a redelivered series once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const opts = { dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 };
    const s1 = new EmbeddedStore(opts);
    const a = cpuSeries({
      labels: { service_name: 'x' },
      stacks: [[['a', 'b'], 5]],
      atMs: Date.now(),
    });
    await s1.send([a]);
    await s1.send([a]);
    await s1.close();
    const s2 = new EmbeddedStore(opts);
    assert.equal(s2.countSeries(), 1);
    assert.equal(mergeTree(s2, q()).total, 5);
    await s2.close();
  });

  it('creates its file with 16 KiB pages, and keeps the page size of an existing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const opts = { dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 };
    const s = new EmbeddedStore(opts);
    await s.close();
    const pageSize = (path: string): number => {
      const db = new Database(path, { readonly: true });
      const n = db.pragma('page_size', { simple: true }) as number;
      db.close();
      return n;
    };
    assert.equal(pageSize(join(dir, 'profiles.sqlite')), 16384);
    // a file made with another page size (an older Emberflow) opens as it is
    const old = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const db = new Database(join(old, 'profiles.sqlite'));
    db.pragma('page_size = 4096');
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x)');
    db.close();
    const reopened = new EmbeddedStore({ ...opts, dataDir: old });
    await reopened.send([
      cpuSeries({ labels: { service_name: 'x' }, stacks: [[['a'], 1]], atMs: Date.now() }),
    ]);
    assert.equal(reopened.countSeries(), 1);
    await reopened.close();
    assert.equal(pageSize(join(old, 'profiles.sqlite')), 4096);
  });

  it('drops series by age, then oldest first by size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const s = new EmbeddedStore({ dataDir: dir, retentionMs: 60_000, maxBytes: 1 << 30 });
    const now = Date.now();
    for (let i = 0; i < 4; i++)
      await s.send([
        cpuSeries({ labels: { service_name: `s${i}` }, stacks: [[['f'], 1]], atMs: now }),
      ]);
    assert.equal(s.enforceRetention(now + 30_000).deleted, 0);
    assert.equal(s.enforceRetention(now + 120_000).deleted, 4);
    for (let i = 0; i < 4; i++) {
      await s.send([
        cpuSeries({ labels: { service_name: `t${i}` }, stacks: [[['f'], 1]], atMs: now }),
      ]);
      await new Promise((r) => setTimeout(r, 5)); // distinct write times
    }
    const per = s.storedBytes() / 4;
    const small = new EmbeddedStore({
      dataDir: dir,
      retentionMs: 60_000,
      maxBytes: Math.ceil(per * 2.5),
    });
    assert.equal(small.enforceRetention().deleted, 2);
    const left = small
      .listSeries('anonymous', 0, now + 60_000)
      .map((x) => x.labels.find((l) => l.name === 'service_name')?.value);
    assert.deepEqual(left.sort(), ['t2', 't3']);
    await small.close();
    await s.close();
  });

  it('keeps the compact form only, not the pprof', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const s = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
    await s.send([
      cpuSeries({ labels: { service_name: 'x' }, stacks: [[['a'], 3]], atMs: Date.now() }),
    ]);
    await s.close();
    const db = new Database(join(dir, 'profiles.sqlite'));
    const row = db.prepare('SELECT length(pprof) AS p, length(stacks) AS c FROM series').get() as {
      p: number;
      c: number;
    };
    db.close();
    assert.equal(row.p, 0);
    assert.ok(row.c > 0);
  });

  it('writes the compact form a decode worker handed over as is, the same row it builds from the pprof', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const s = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
    const at = Date.now();
    const built = cpuSeries({
      labels: { service_name: 'built' },
      stacks: [[['a', 'b'], 4]],
      atMs: at,
    });
    const handed = cpuSeries({
      labels: { service_name: 'handed' },
      stacks: [[['a', 'b'], 4]],
      atMs: at,
    });
    handed.compact = new Uint8Array(encodeCompact(compactFlat(decodePprofFlat(handed.pprof))));
    // the store trusts the hand-over: a compact form of another profile is what it keeps
    const other = cpuSeries({ labels: { service_name: 'other' }, stacks: [[['x'], 7]], atMs: at });
    other.compact = new Uint8Array(
      encodeCompact(
        compactFlat(
          decodePprofFlat(cpuSeries({ labels: {}, stacks: [[['y'], 11]], atMs: at }).pprof),
        ),
      ),
    );
    await s.send([built, handed, other]);
    await s.close();
    const db = new Database(join(dir, 'profiles.sqlite'));
    const rows = db
      .prepare('SELECT service_name AS n, pprof, stacks, size FROM series ORDER BY n')
      .all() as { n: string; pprof: Buffer; stacks: Buffer; size: number }[];
    db.close();
    const [b, h] = [rows.find((r) => r.n === 'built')!, rows.find((r) => r.n === 'handed')!];
    assert.ok(h.stacks.equals(b.stacks));
    assert.equal(h.size, b.size);
    assert.equal(h.pprof.length, 0);
    const s2 = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
    assert.equal(mergeTree(s2, { ...q(), labelSelector: '{service_name="other"}' }).total, 11);
    assert.equal(mergeTree(s2, { ...q(), labelSelector: '{service_name="handed"}' }).total, 4);
    await s2.close();
  });

  it('writes a large batch in several transactions with turns of the event loop between them, every row stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const s = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
    const at = Date.now();
    const batch = [0, 1, 2].map((i) => {
      const x = cpuSeries({ labels: { service_name: `big${i}` }, stacks: [[['a'], 1]], atMs: at });
      // 600 KB forms: no two fit one transaction's budget
      x.compact = new Uint8Array(600 * 1024).fill(i + 1);
      return x;
    });
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await s.send(batch);
    ticking = false;
    assert.ok(turns >= 2, `turns between transactions: ${turns}`);
    assert.equal(s.countSeries(), 3);
    await s.close();
  });

  it('checkpoints the WAL from its worker, not in the commits: the database file takes the rows while the store is open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const opts = { dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 };
    const s = new EmbeddedStore({ ...opts, checkpointIntervalMs: 20 });
    const at = Date.now();
    // 3 MB: below SQLite's automatic checkpoint (1,000 pages), so only the worker copies it
    const batch = [0, 1, 2, 3, 4].map((i) => {
      const x = cpuSeries({ labels: { service_name: `w${i}` }, stacks: [[['a'], 1]], atMs: at });
      x.compact = new Uint8Array(600 * 1024).fill(i + 1);
      return x;
    });
    await s.send(batch);
    const file = join(dir, 'profiles.sqlite');
    const deadline = Date.now() + 5000;
    while (statSync(file).size < 3_000_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(statSync(file).size >= 3_000_000, `database file ${statSync(file).size} bytes`);
    await s.close();
    const again = new EmbeddedStore(opts);
    assert.equal(again.countSeries(), 5);
    await again.close();
  });

  it('reads rows written before the compact form existed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const opts = { dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 };
    const s1 = new EmbeddedStore(opts);
    const old = cpuSeries({
      labels: { service_name: 'old' },
      stacks: [[['a'], 9]],
      atMs: Date.now(),
    });
    await s1.send([old]);
    await s1.close();
    // such a row holds the gzipped pprof and no compact form
    const db = new Database(join(dir, 'profiles.sqlite'));
    db.prepare('UPDATE series SET stacks = NULL, pprof = ?').run(gzipSync(old.pprof));
    db.close();
    const s2 = new EmbeddedStore(opts);
    assert.equal(mergeTree(s2, q()).total, 9);
    assert.equal(mergeTree(s2, q('other-tenant')).total, 0);
    await s2.close();
  });

  it('reads the parts of a split series as one profile: totals, averages and heatmap points', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-store-'));
    const s = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
    const now = Date.now();
    const stacks: [string[], number, string?][] = Array.from({ length: 400 }, (_, i) => [
      ['main', `mod${i % 7}`, `leaf${i}`],
      i + 1,
      i % 2 === 0 ? 'aaaaaaaaaaaaaaa1' : undefined,
    ]);
    const whole = cpuSeries({ labels: { service_name: 'split' }, stacks, atMs: now });
    const bytes = splitPprof(whole.pprof, 4096);
    assert.ok(bytes.length >= 3, `${bytes.length} parts`);
    await s.send(
      bytes.map((b, i) => {
        const part = { index: i + 1, count: bytes.length };
        return {
          ...whole,
          seriesId: partSeriesId(whole.seriesId, part),
          profileId: whole.seriesId,
          part,
          pprof: Buffer.from(b),
        };
      }),
    );
    const other = cpuSeries({
      labels: { service_name: 'split' },
      stacks: [[['x'], 100]],
      atMs: now,
    });
    await s.send([other]);
    const total = stacks.reduce((n, [, v]) => n + v, 0);
    const query = { ...q(), labelSelector: '{service_name="split"}' };
    assert.equal(mergeTree(s, query).total, total + 100);
    const [avg] = selectSeries(s, query, {
      groupBy: [],
      stepSeconds: 3600 * 24,
      aggregation: 'average',
      limit: 0,
    });
    // two profiles (the split one and the other), not parts + 1
    assert.equal(avg.points.length, 1);
    assert.equal(avg.points[0].value, (total + 100) / 2);
    const [heat] = selectHeatmap(s, query, {
      groupBy: [],
      stepSeconds: 3600 * 24,
      limit: 0,
      perSpan: false,
    });
    assert.equal(
      heat.slots.reduce((n, slot) => n + slot.counts.reduce((a, b) => a + b, 0), 0),
      2,
    );
    const [spans] = selectHeatmap(s, query, {
      groupBy: [],
      stepSeconds: 3600 * 24,
      limit: 0,
      perSpan: true,
    });
    // one span, its samples spread over every part
    assert.equal(
      spans.slots.reduce((n, slot) => n + slot.counts.reduce((a, b) => a + b, 0), 0),
      1,
    );
    await s.close();
  });
});

describe('normalised record hand-over (OutgoingMessage.local)', () => {
  it('carries the compact form beside the pprof, counted in the held bytes; Kafka-shaped records have none', () => {
    const s = cpuSeries({ labels: { service_name: 'x' }, stacks: [[['a'], 1]], atMs: Date.now() });
    const compact = new Uint8Array(encodeCompact(compactFlat(decodePprofFlat(s.pprof))));
    const out = encodeNormalizedSeries({ ...s, compact });
    assert.equal(out.local?.bytes, compact.byteLength);
    const incoming = (local: boolean): IncomingMessage => ({
      topic: 't',
      partition: 0,
      offset: '0',
      key: out.key,
      value: out.value,
      headers: out.headers,
      timestamp: 0,
      ...(local && out.local ? { local: out.local } : {}),
    });
    assert.equal(decodeNormalizedSeries(incoming(true)).compact, compact);
    assert.equal(decodeNormalizedSeries(incoming(true)).profile, undefined);
    assert.equal(decodeNormalizedSeries(incoming(false)).compact, undefined);
    assert.equal(encodeNormalizedSeries(s).local, undefined);
  });
});
