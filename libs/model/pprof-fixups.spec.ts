import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  dropTypeParameters,
  detectLanguage,
  potentialTruncatedGoStacks,
  repairGoTruncatedStacks,
} from './go-profile-fix.js';
import { ProfileBuilder } from './profile-builder.js';
import {
  fixDotnet,
  fixPprofTime,
  fixScriptingFunctionNames,
  injectMappingVersions,
  isDotnetSpy,
  pprofMetricName,
} from './pprof-fixups.js';

const types = (...ts: string[]) => {
  const b = new ProfileBuilder();
  for (const t of ts) b.sampleType(t, 'count');
  return b.build();
};

describe('pprof fix-ups', () => {
  it('picks the metric name as Pyroscope does', () => {
    assert.equal(pprofMetricName(types('samples', 'wall')), 'wall');
    assert.equal(pprofMetricName(types('samples', 'cpu')), 'process_cpu');
    assert.equal(pprofMetricName(types('contentions', 'delay')), 'mutex');
    assert.equal(
      pprofMetricName(types('contentions', 'delay'), {
        contentions: { 'display-name': 'block_count' },
      }),
      'block',
    );
    assert.equal(pprofMetricName(types('goroutine')), 'goroutines');
    assert.equal(pprofMetricName(types('space', 'objects')), 'memory');
    assert.equal(
      pprofMetricName(types('a', 'goroutine_leak'), {
        goroutine_leak: { 'display-name': 'goroutineleak' },
      }),
      'goroutineleak',
    );
    assert.equal(pprofMetricName(types('exception')), 'exception');
  });

  it('replaces a 1970 time with from', () => {
    const p = types('samples');
    p.timeNanos = 1694153500000000;
    assert.equal(fixPprofTime(p, 1700000000000000000n), true);
    assert.equal(p.timeNanos, 1700000000000000000n);
    p.timeNanos = 1700000000000000001n;
    assert.equal(fixPprofTime(p, 5), false);
  });

  it('renames functions for scripting spies (py-spy keeps absolute paths)', () => {
    const b = new ProfileBuilder().sampleType('samples', 'count');
    const rel = b.location('f', 'app.py');
    const abs = b.location('g', '/usr/lib/x.py');
    b.sample([rel, abs], [1]);
    const p = b.build();
    fixScriptingFunctionNames(p, 'pyspy');
    const name = (lid: number) => {
      const fid = p.location[lid - 1].line[0].functionId;
      return p.stringTable[p.function.find((f) => f.id === fid)!.name];
    };
    assert.equal(name(rel), 'app.py f');
    assert.equal(name(abs), 'g');
    const q = new ProfileBuilder().sampleType('samples', 'count');
    q.sample([q.location('g', '/abs.rb')], [1]);
    const qp = q.build();
    fixScriptingFunctionNames(qp, 'rbspy');
    assert.ok(qp.stringTable.includes('/abs.rb g'));
  });

  it('injects service versions into mapping build ids, Go-escaped', () => {
    const p = types('cpu');
    p.stringTable.push('abc');
    p.mapping.push({
      id: 1,
      memoryStart: 0,
      memoryLimit: 0,
      fileOffset: 0,
      filename: 0,
      buildId: p.stringTable.length - 1,
      hasFunctions: true,
      hasFilenames: false,
      hasLineNumbers: false,
      hasInlineFrames: false,
    });
    p.mapping.push({ ...p.mapping[0], id: 2, buildId: 0 });
    assert.equal(injectMappingVersions([{ name: 'service_name', value: 's' }], p), false);
    const labels = [
      { name: 'service_repository', value: 'https://github.com/a/b' },
      { name: 'service_git_ref', value: '<main>&' },
    ];
    assert.equal(injectMappingVersions(labels, p), true);
    assert.equal(
      p.stringTable[p.mapping[0].buildId],
      '{"repository":"https://github.com/a/b","git_ref":"\\u003cmain\\u003e\\u0026","build_id":"abc"}',
    );
    assert.equal(
      p.stringTable[p.mapping[1].buildId],
      '{"repository":"https://github.com/a/b","git_ref":"\\u003cmain\\u003e\\u0026"}',
    );
  });

  it('repairs broken .NET profiles', () => {
    const b = new ProfileBuilder().sampleType('alloc-samples', 'count');
    b.stack(['a', 'b'], [1]);
    const p = b.build();
    for (const f of p.function) f.id = 0;
    fixDotnet(p);
    assert.deepEqual(
      p.function.map((f) => f.id),
      p.location.map((l) => l.id),
    );
    assert.equal(p.stringTable[p.sampleType[0].type], 'alloc_samples');
    assert.equal(isDotnetSpy('unknown', { 'inuse-space': {} }), true);
    assert.equal(isDotnetSpy('unknown'), false);
  });
});

describe('Go fix-ups', () => {
  it('drops generic shape parameters like upstream (including its unclosed-bracket quirk)', () => {
    assert.equal(
      dropTypeParameters('main.F[go.shape.int,go.shape.[]string].func1'),
      'main.F.func1',
    );
    assert.equal(dropTypeParameters('a[go.shape.x'), 'aa[go.shape.x');
    assert.equal(dropTypeParameters('plain'), 'plain');
  });

  it('detects the language from the spy, then from symbols', () => {
    const p = types('cpu');
    assert.equal(detectLanguage([{ name: 'pyroscope_spy', value: 'gospy' }], p), 'go');
    p.stringTable.push('/src/main.go');
    assert.equal(detectLanguage([], p), 'go');
    assert.equal(detectLanguage([], types('x')), 'unknown');
  });

  it('completes heap stacks truncated at 32 frames from an overlapping stack', () => {
    const b = new ProfileBuilder().sampleType('inuse_space', 'bytes');
    const full = Array.from({ length: 32 }, (_, i) => `f${i}`); // root first
    b.stack(full, [1]);
    // The same call path seen 4 frames deeper: the runtime cut its 4 root frames.
    b.stack([...full.slice(4), 'g1', 'g2', 'g3', 'g4'], [1]);
    const p = b.build();
    assert.equal(potentialTruncatedGoStacks(p), true);
    repairGoTruncatedStacks(p);
    const name = (id: number) =>
      p.stringTable[p.function[p.location[id - 1].line[0].functionId - 1].name];
    const repaired = p.sample[1].locationId.map(name).reverse();
    assert.deepEqual(repaired, [...full, 'g1', 'g2', 'g3', 'g4']);
  });

  it('upstream scenario: overlapping CPU stacks all end at the same root after repair', () => {
    const n = 128;
    const full: string[] = []; // leaf first, 'start' is the root
    for (let i = 0; i < n; i++) {
      full[n - (i + 1)] =
        i === 0 ? 'start' : String.fromCharCode(97 + Math.floor((i - 1) / 10)) + ((i - 1) % 10);
    }
    const b = new ProfileBuilder().sampleType('samples', 'count').sampleType('cpu', 'nanoseconds');
    const add = (leafFirst: string[], v: number) => b.stack([...leafFirst].reverse(), [v, v]);
    add(full.slice(n - 24), 1);
    add(full.slice(n - 58, n - 9), 2);
    add(full.slice(n - 57, n - 8), 4);
    add(full.slice(n - 56, n - 7), 8);
    add(['yy1', ...full.slice(n - 22)], 16);
    const p = b.build();
    repairGoTruncatedStacks(p);
    const roots = p.sample.map((s) => s.locationId.slice(-8).join(','));
    assert.equal(new Set(roots).size, 1);
    assert.deepEqual(
      p.sample.map((s) => s.locationId.length),
      [24, 58, 57, 56, 23],
    );
  });
});
