import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRelabelRules, compileRelabelRules } from './relabel-rules.js';

const L = (o: Record<string, string>) =>
  Object.entries(o).map(([name, value]) => ({ name, value }));
const M = (ls: { name: string; value: string }[] | null) =>
  ls === null ? null : Object.fromEntries(ls.map((l) => [l.name, l.value]));

describe('relabel rules', () => {
  it('replaces with capture groups, and deletes a label set to empty', () => {
    const rules = compileRelabelRules([
      {
        sourceLabels: ['pod'],
        regex: '(.*)-[a-z0-9]+',
        targetLabel: 'workload',
        replacement: '$1',
      },
      { sourceLabels: ['tmp'], regex: '.*', targetLabel: 'tmp', replacement: '' },
    ]);
    assert.deepEqual(M(applyRelabelRules(L({ pod: 'api-7f9c', tmp: 'x' }), rules)), {
      pod: 'api-7f9c',
      workload: 'api',
    });
  });

  it('keeps and drops whole label sets on anchored regexes', () => {
    const keep = compileRelabelRules([
      { action: 'keep', sourceLabels: ['env'], regex: 'prod|staging' },
    ]);
    assert.equal(applyRelabelRules(L({ env: 'prod' }), keep) !== null, true);
    assert.equal(applyRelabelRules(L({ env: 'production' }), keep), null);
    const drop = compileRelabelRules([
      { action: 'drop', sourceLabels: ['service_name', 'env'], regex: 'test;.*' },
    ]);
    assert.equal(applyRelabelRules(L({ service_name: 'test', env: 'x' }), drop), null);
    assert.notEqual(applyRelabelRules(L({ service_name: 'tester', env: 'x' }), drop), null);
  });

  it('drops and keeps label names, and maps names', () => {
    const rules = compileRelabelRules([
      { action: 'labeldrop', regex: 'thread_.*' },
      { action: 'labelmap', regex: 'k8s_(.*)', replacement: '$1' },
    ]);
    assert.deepEqual(
      M(applyRelabelRules(L({ thread_id: '1', thread_name: 'x', k8s_ns: 'a', keep: 'y' }), rules)),
      {
        k8s_ns: 'a',
        keep: 'y',
        ns: 'a',
      },
    );
    const only = compileRelabelRules([{ action: 'labelkeep', regex: 'service_name|__name__' }]);
    assert.deepEqual(
      M(applyRelabelRules(L({ service_name: 's', __name__: 'cpu', span_id: '1' }), only)),
      {
        service_name: 's',
        __name__: 'cpu',
      },
    );
  });

  it('hashes into shards deterministically', () => {
    const rules = compileRelabelRules([
      { action: 'hashmod', sourceLabels: ['pod'], modulus: 4, targetLabel: 'shard' },
    ]);
    const a = M(applyRelabelRules(L({ pod: 'a' }), rules))!.shard;
    assert.equal(M(applyRelabelRules(L({ pod: 'a' }), rules))!.shard, a);
    assert.ok(['0', '1', '2', '3'].includes(a));
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) seen.add(M(applyRelabelRules(L({ pod: `p${i}` }), rules))!.shard);
    assert.equal(seen.size, 4);
  });

  it('validates at compile time and lists every problem', () => {
    assert.throws(
      () =>
        compileRelabelRules([
          { action: 'replace', sourceLabels: ['a'] },
          { action: 'hashmod', sourceLabels: ['a'], targetLabel: 'b' },
          { action: 'keep', regex: '(' },
        ]),
      (err: Error) =>
        /\[0\].*targetLabel/.test(err.message) &&
        /\[1\].*modulus/.test(err.message) &&
        /\[2\].*regex/.test(err.message),
    );
  });
});

describe('relabel rules on RE2', () => {
  it('expand $$, ${name} and Go-style bare names from named groups', () => {
    const rules = compileRelabelRules([
      {
        sourceLabels: ['pod'],
        regex: '(?P<app>[a-z]+)-(?P<hash>[0-9a-f]+)',
        targetLabel: 'workload',
        replacement: '${app}$$$hash$1x',
      },
    ]);
    // $$ is a literal $, $hash a named group, $1x names group "1x" (none: empty), as in Go
    assert.equal(M(applyRelabelRules(L({ pod: 'api-7f9c' }), rules))!.workload, 'api$7f9c');
  });

  it(
    'drop a hostile value in linear time (regression: backtracking regex in relabel rules)',
    { timeout: 60_000 },
    () => {
      const rules = compileRelabelRules([{ action: 'drop', sourceLabels: ['k'], regex: '(a+)+' }]);
      assert.notEqual(applyRelabelRules(L({ k: `${'a'.repeat(100_000)}!` }), rules), null);
      assert.equal(applyRelabelRules(L({ k: 'a'.repeat(100_000) }), rules), null);
    },
  );

  it('reject Perl-only syntax at compile time', () => {
    assert.throws(
      () => compileRelabelRules([{ action: 'keep', sourceLabels: ['a'], regex: '(?!x).*' }]),
      /\[0\].*invalid regex/,
    );
  });
});
