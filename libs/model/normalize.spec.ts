import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  addInt64,
  dropUnused,
  normalizeProfile,
  toInt64,
  truncateStacks,
  truncateSymbols,
} from './normalize.js';
import { ProfileBuilder } from './profile-builder.js';

function build(): ReturnType<ProfileBuilder['build']> {
  const b = new ProfileBuilder().sampleType('cpu', 'nanoseconds');
  b.stack(['main', 'a'], [5]);
  b.stack(['main', 'a'], [7]);
  b.stack(['main', 'b'], [0]);
  b.stack(['main', 'c'], [-1]);
  b.stack(['main', 'a'], [1], [['k', 'v']]);
  return b.build();
}

describe('normalize', () => {
  it('merges duplicates, drops zero and negative samples and what they alone used', () => {
    const p = build();
    const stats = normalizeProfile(p, { nowNanos: 42 });
    assert.equal(p.timeNanos, 42);
    assert.equal(stats.sampleDuplicate, 1);
    assert.equal(stats.sampleValueZero, 1);
    assert.equal(stats.sampleValueNegative, 1);
    assert.deepEqual(
      p.sample.map((s) => s.value[0]),
      [12, 1],
    );
    const names = p.function.map((f) => p.stringTable[f.name]);
    assert.deepEqual(names, ['main', 'a']);
    assert.ok(!p.stringTable.includes('b') && !p.stringTable.includes('c'));
    assert.equal(p.stringTable[0], '');
    // Every reference is valid after compaction.
    for (const s of p.sample)
      for (const id of s.locationId) assert.ok(id >= 1 && id <= p.location.length);
    for (const l of p.location)
      for (const ln of l.line) assert.ok(ln.functionId <= p.function.length);
  });

  it('drops numeric sample labels (Pyroscope keeps string labels only)', () => {
    const p = build();
    p.sample[0].label.push({ key: p.stringTable.length, str: 0, num: 3, numUnit: 0 });
    p.stringTable.push('bytes');
    normalizeProfile(p);
    assert.ok(p.sample.every((s) => s.label.every((l) => l.str !== 0)));
  });

  it('is safe to call twice', () => {
    const p = build();
    normalizeProfile(p);
    const once = structuredClone(p);
    normalizeProfile(p);
    dropUnused(p);
    assert.deepEqual(p, once);
  });

  it('truncates stacks at the root side and symbols at the head', () => {
    const b = new ProfileBuilder().sampleType('samples', 'count');
    b.stack(['root', 'mid', 'leaf'], [1]);
    const p = b.build();
    assert.equal(truncateStacks(p, 2), 1);
    const names = p.sample[0].locationId.map((id) => p.stringTable[p.function[id - 1].name]);
    assert.deepEqual(names, ['mid', 'root']);
    p.stringTable.push('x'.repeat(10) + 'é');
    assert.equal(truncateSymbols(p, 7), 1);
    assert.equal(p.stringTable[p.stringTable.length - 1], 'xxxxxé');
  });

  it('adds int64 values with Go wrap-around', () => {
    assert.equal(addInt64(1, 2), 3);
    assert.equal(addInt64(Number.MAX_SAFE_INTEGER, 1), 9007199254740992n);
    assert.equal(addInt64(9223372036854775807n, 1), -9223372036854775808n);
    assert.equal(toInt64(2n ** 64n + 5n), 5);
  });
});
