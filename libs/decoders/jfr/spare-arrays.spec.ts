import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { fixturePath } from '../../../test/support/paths.js';
import { toCollapsed } from './collapsed.js';
import { IdIndex } from './id-index.js';
import { decodeJfr } from './profile-mapper.js';
import { SpareInt32Arrays, idTableSpares } from './spare-arrays.js';

describe('SpareInt32Arrays', () => {
  it('hands out a new zeroed array when it holds none that fits', () => {
    const s = new SpareInt32Arrays(1 << 20, 4);
    const a = s.take(100);
    assert.equal(a.length, 100);
    assert.ok(a.every((x) => x === 0));
    s.give(new Int32Array(50));
    assert.equal(s.take(100).length, 100, 'a spare that is too small is not handed out');
  });

  it('hands back the smallest spare that fits, once', () => {
    const s = new SpareInt32Arrays(1 << 20, 4);
    const small = new Int32Array(256);
    const big = new Int32Array(4096);
    s.give(big);
    s.give(small);
    assert.equal(s.take(200), small);
    assert.equal(s.take(200), big);
    assert.notEqual(s.take(200), small, 'each spare goes out once');
    assert.equal(s.heldBytes, 0);
  });

  it('keeps no more than its byte and count bounds', () => {
    const s = new SpareInt32Arrays(4096, 2);
    s.give(new Int32Array(512)); // 2 KiB
    s.give(new Int32Array(1024)); // 4 KiB: over the byte bound, dropped
    assert.equal(s.heldBytes, 2048);
    s.give(new Int32Array(16));
    s.give(new Int32Array(16)); // third array: over the count bound, dropped
    assert.equal(s.heldBytes, 2048 + 64);
  });
});

describe('IdIndex.release', () => {
  it('leaves no id behind for the index that takes its array next', () => {
    const a = new IdIndex();
    for (let id = 1; id < 5000; id++) a.set(id, id * 2);
    a.set(2 ** 40, 7); // hash tier
    a.release();
    a.release(); // safe twice
    assert.equal(a.get(17), -1);
    assert.equal(a.get(2 ** 40), -1);
    const b = new IdIndex();
    b.set(3, 9); // grows its dense array from the spares
    for (let id = 1; id < 5000; id++) if (id !== 3) assert.equal(b.get(id), -1, `id ${id}`);
    assert.equal(b.get(3), 9);
    a.set(17, 1); // a released index is as new
    assert.equal(a.get(17), 1);
    b.release();
    a.release();
  });
});

describe('JFR decodes on one thread reuse the id tables (regression: no state crosses decodes)', () => {
  const read = (dir: string, name: string): Buffer =>
    gunzipSync(readFileSync(fixturePath(dir, `${name}.jfr.gz`)));
  const recordings = [
    read('bench', 'goland-multichunk'),
    read('pyroscope/jfr', 'cortex-dev-01__kafka-0__cpu_lock0_alloc0__0'),
    read('pyroscope/jfr', 'uint64-ref-id'),
  ];
  const collapsed = (jfr: Buffer): string[] =>
    decodeJfr({
      jfr,
      startNanos: 1706241880n * 1_000_000_000n,
      endNanos: 1706241890n * 1_000_000_000n,
      sampleRate: 100,
    }).profiles.map((p) => toCollapsed(p.profile));

  it('gives every recording the same profiles whatever was decoded before it', () => {
    const first = recordings.map(collapsed);
    assert.ok(idTableSpares.heldBytes > 0, 'a finished decode gave its tables back');
    for (const order of [
      [2, 1, 0],
      [1, 0, 2],
    ]) {
      for (const i of order) assert.deepEqual(collapsed(recordings[i]), first[i], `recording ${i}`);
    }
    assert.ok(first.every((p) => p.length > 0 && p.every((c) => c.length > 0)));
  });
});
