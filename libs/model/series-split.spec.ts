import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ProfileBuilder } from './profile-builder.js';
import { splitBySampleLabels } from './series-split.js';

const base = [
  { name: '__name__', value: 'process_cpu' },
  { name: 'service_name', value: 'svc' },
];

describe('series split', () => {
  it('groups by sample labels, ignoring span/trace ids, and keeps them on samples', () => {
    const b = new ProfileBuilder().sampleType('cpu', 'nanoseconds');
    b.stack(
      ['a'],
      [1],
      [
        ['function', 'slow'],
        ['profile_id', '0123456789abcdef'],
      ],
    );
    b.stack(
      ['a'],
      [2],
      [
        ['function', 'slow'],
        ['span_id', 'fedcba9876543210'],
      ],
    );
    b.stack(['b'], [4], [['function', 'fast']]);
    b.stack(['b'], [8], [['trace_id', '0123456789abcdef0123456789abcdef']]);
    const out = splitBySampleLabels(base, b.build());
    assert.equal(out.length, 3);
    const byFn = new Map(
      out.map((s) => [s.labels.find((l) => l.name === 'function')?.value ?? '-', s]),
    );
    const slow = byFn.get('slow')!;
    assert.deepEqual(
      slow.profile.sample.map((s) => s.value[0]),
      [1, 2],
    );
    const st = slow.profile.stringTable;
    assert.deepEqual(
      slow.profile.sample.map((s) => s.label.map((l) => st[l.key])),
      [['span_id'], ['span_id']],
    );
    assert.ok(
      !st.includes('profile_id') ||
        !slow.profile.sample.some((s) => s.label.some((l) => st[l.key] === 'profile_id')),
    );
    assert.equal(byFn.get('-')!.profile.sample[0].label.length, 1);
    for (const s of out)
      assert.ok(!s.labels.some((l) => ['span_id', 'trace_id', 'profile_id'].includes(l.name)));
  });

  it('never overrides a series label, and merges groups that end up equal', () => {
    const b = new ProfileBuilder().sampleType('cpu', 'nanoseconds');
    b.stack(['a'], [1], [['service_name', 'other']]);
    b.stack(['a'], [2]);
    const out = splitBySampleLabels(base, b.build());
    assert.equal(out.length, 1);
    assert.equal(out[0].labels.find((l) => l.name === 'service_name')?.value, 'svc');
    assert.deepEqual(
      out[0].profile.sample.map((s) => s.value[0]),
      [3],
    );
  });

  it('a profile without sample labels is one series', () => {
    const b = new ProfileBuilder().sampleType('cpu', 'nanoseconds');
    b.stack(['a'], [1]);
    const p = b.build();
    const out = splitBySampleLabels(base, p);
    assert.equal(out.length, 1);
    assert.equal(out[0].profile, p);
  });

  it('splitting into many groups stays linear (no copy of the whole profile per group)', () => {
    const b = new ProfileBuilder().sampleType('cpu', 'nanoseconds');
    const deep = Array.from({ length: 100 }, (_, i) => `frame${i}`);
    for (let i = 0; i < 3000; i++) b.stack([...deep, `leaf${i}`], [1], [['request', `r${i}`]]);
    const t0 = performance.now();
    const out = splitBySampleLabels(base, b.build());
    assert.equal(out.length, 3000);
    assert.equal(out[42].profile.location.length, 101);
    assert.equal(out[42].profile.function.length, 101);
    assert.ok(performance.now() - t0 < 5000);
  });
});
