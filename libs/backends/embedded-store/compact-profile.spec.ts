import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ProfileBuilder, decodePprof } from '../../model/index.js';
import { fixturePath } from '../../../test/support/paths.js';
import {
  addCompact,
  columnTotal,
  compactProfile,
  decodeCompact,
  encodeCompact,
  stackFilter,
  valueColumn,
} from './compact-profile.js';
import { addProfile, newTree, toFlamegraph } from './stack-tree.js';

function fixture(name: string) {
  const raw = readFileSync(fixturePath('pyroscope', 'pprof', name));
  return decodePprof(raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw);
}

describe('compact profile (the stored query form)', () => {
  for (const name of ['profile_java', 'cpu.pb.gz', 'heap.pb.gz', 'cpu-js.pb.gz']) {
    it(`merges ${name} exactly as decoding the pprof does, for every sample type`, () => {
      const p = fixture(name);
      const c = decodeCompact(encodeCompact(compactProfile(p)));
      for (let t = 0; t < p.sampleType.length; t++) {
        const a = newTree();
        addProfile(a, p, t);
        const b = newTree();
        const st = p.stringTable;
        addCompact(b, c, valueColumn(c, st[p.sampleType[t].type], st[p.sampleType[t].unit]));
        assert.deepEqual(toFlamegraph(b), toFlamegraph(a));
        assert.equal(columnTotal(c, t), a.total);
      }
    });
  }

  it('keeps span ids per stack and filters by them', () => {
    const p = new ProfileBuilder()
      .sampleType('cpu', 'nanoseconds')
      .stack(['a', 'b'], [5], [['span_id', '5a1e000000000001']])
      .stack(['a', 'b'], [7], [['span_id', '5a1e000000000002']])
      .stack(['a', 'b'], [1], [['span_id', '5a1e000000000001']])
      .stack(['a', 'c'], [3])
      .build();
    const c = compactProfile(p);
    assert.equal(c.spans.length, 3, 'identical stacks of one span are merged');
    const t = newTree();
    addCompact(t, c, 0, stackFilter({ spans: ['5a1e000000000001'] }));
    assert.equal(t.total, 6);
    assert.equal(columnTotal(c, 0), 16);
    assert.equal(columnTotal(c, 0, stackFilter({ callSite: ['a', 'c'] })), 3);
    assert.equal(columnTotal(c, 0, stackFilter({ callSite: ['a'] })), 16);
    assert.equal(columnTotal(c, 0, stackFilter({ callSite: ['a', 'b', 'x'] })), 0);
    assert.equal(
      columnTotal(c, 0, stackFilter({ callSite: ['a', 'b'], spans: ['5a1e000000000002'] })),
      7,
    );
    assert.equal(stackFilter({ spans: [], callSite: [] }), undefined);
  });

  it('a span_id that is not 16 hex digits is no span (Pyroscope decodeSpanID, pkg/pprof)', () => {
    const p = new ProfileBuilder()
      .sampleType('cpu', 'nanoseconds')
      .stack(['a'], [5], [['span_id', '239']])
      .stack(['a'], [2])
      .stack(
        ['b'],
        [1],
        [
          ['span_id', '239'],
          ['span_id', 'ABCDEF0123456789'],
        ],
      )
      .build();
    const c = compactProfile(p);
    // '239' is no span: the first stack merges with the unlabelled one
    assert.equal(c.spans.length, 2);
    assert.equal(c.spans[0], -1);
    // the first span_id that is a span counts, in lower case
    assert.equal(c.names[c.spans[1]], 'abcdef0123456789');
  });

  it('regression: profile time in ms is exact for nanosecond timestamps beyond 2^53', () => {
    for (const ms of [1795599130698, 1795599070001, 1700000000999]) {
      const p = new ProfileBuilder()
        .sampleType('cpu', 'nanoseconds')
        .time(BigInt(ms) * 1_000_000n, 0)
        .stack(['a'], [1])
        .build();
      assert.equal(compactProfile(p).timeMs, ms);
    }
  });
});
