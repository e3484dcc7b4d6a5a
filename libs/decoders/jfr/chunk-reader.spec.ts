import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toCollapsed } from './collapsed.js';
import { JfrError } from './errors.js';
import { decodeJfr, type JfrInput } from './profile-mapper.js';
import {
  Bytes,
  STANDARD_CPU as CPU,
  T,
  U64_MAX,
  alloc,
  chunk,
  concat,
  exec,
  pools,
  setting,
  standardChunk,
  standardClasses,
  sym,
  type PoolDef,
} from './testing.js';

function input(jfr: Uint8Array, labels?: Uint8Array): JfrInput {
  return {
    jfr,
    labels,
    startNanos: 1706241880n * 1_000_000_000n,
    endNanos: 1706241890n * 1_000_000_000n,
    sampleRate: 100,
  };
}

describe('JFR chunk reader', () => {
  it('decodes a chunk: cp id 2^64-1, symbol merging, thread states, settings', () => {
    const res = decodeJfr(input(standardChunk()));
    assert.equal(res.jfrEvent, 'cpu');
    assert.equal(res.profiles.length, 1);
    const [cpu] = res.profiles;
    assert.equal(cpu.metric, 'process_cpu');
    assert.deepEqual(cpu.profileTypeIds, ['process_cpu:cpu:nanoseconds:cpu:nanoseconds']);
    assert.equal(toCollapsed(cpu.profile), CPU);
    assert.equal(cpu.profile.timeNanos, 1706241880n * 1_000_000_000n);
    assert.equal(cpu.profile.durationNanos, 10_000_000_000);
    assert.equal(res.stats.stacktraceNotFound, 1);
  });

  it('keeps 64-bit ids apart that collide as doubles (2^53 and 2^53+1)', () => {
    const a = 2n ** 53n;
    const p = pools();
    const st = p.find((x) => x.type === T.stackTrace) as PoolDef;
    st.entries = [
      [a, (b) => b.u8(0).varint(1).varint(1000).varint(1).varint(0).varint(1)],
      [a + 1n, (b) => b.u8(0).varint(1).varint(1001).varint(2).varint(0).varint(1)],
    ];
    const jfr = chunk({ checkpoints: [p], events: [exec(a, 1), exec(a + 1n, 1), exec(a + 1n, 1)] });
    const [cpu] = decodeJfr(input(jfr)).profiles;
    assert.equal(
      toCollapsed(cpu.profile),
      'com/example/Main.main:1 [10000000]\ncom/example/Main.work:2 [20000000]',
    );
  });

  it('reads pools spread over several checkpoint events', () => {
    const p = pools();
    const jfr = chunk({
      checkpoints: [p.slice(0, 2), p.slice(2, 5), p.slice(5)],
      events: [exec(7, 1), exec(7, 1), exec(7, 1), exec(U64_MAX, 1)],
    });
    assert.equal(toCollapsed(decodeJfr(input(jfr)).profiles[0].profile), CPU);
  });

  it('reads several chunks, each with its own ids', () => {
    const jfr = concat(standardChunk(0n), standardChunk(5000n), standardChunk(123456789n));
    const res = decodeJfr(input(jfr));
    assert.equal(res.stats.chunks, 3);
    assert.equal(
      toCollapsed(res.profiles[0].profile),
      CPU.replace('[30000000]', '[90000000]').replace('[10000000]', '[30000000]'),
    );
  });

  it('reads every string encoding: null, empty, constant pool, UTF-8, char array, Latin-1', () => {
    const p = pools();
    const symbols = p.find((x) => x.type === T.symbol) as PoolDef;
    symbols.entries = [
      sym(1, '42', 2), // → java.lang.String pool entry 42
      sym(2, 'mäin', 4),
      sym(3, 'wörk\u0085', 5), // Latin-1 0x85 is U+0085, not windows-1252's "…"
      sym(4, null, 0),
      sym(5, '', 1),
      sym(6, 'rün→', 3),
    ];
    p.push({ type: T.string, entries: [[42, (b) => b.string('pkg/Klass', 3)]] });
    const jfr = chunk({
      checkpoints: [p],
      events: [exec(7, 1), exec(U64_MAX, 1), setting('event', 'itimer', 5)],
    });
    const res = decodeJfr(input(jfr));
    assert.equal(res.jfrEvent, 'itimer');
    assert.equal(
      toCollapsed(res.profiles[0].profile),
      'pkg/Klass.mäin:3;pkg/Klass.wörk\u0085:12 [10000000]\npkg/Klass.mäin:4;.rün→:0 [10000000]',
    );
  });

  it('skips floats, doubles, bytes, chars, strings, arrays and inline objects in events', () => {
    const jfr = standardChunk(0n, [
      alloc(7, 1000),
      alloc(7, 24),
      alloc(U64_MAX, 2n ** 60n),
      alloc(U64_MAX, 2n ** 60n),
    ]);
    const res = decodeJfr(input(jfr));
    const mem = res.profiles.find((p) => p.family === 'alloc_in_new_tlab');
    assert.ok(mem);
    assert.deepEqual(mem.profileTypeIds, [
      'memory:alloc_in_new_tlab_objects:count:space:bytes',
      'memory:alloc_in_new_tlab_bytes:bytes:space:bytes',
    ]);
    assert.equal(
      toCollapsed(mem.profile),
      `com/example/Main.main:3;com/example/Main.work:12 [2 1024]\ncom/example/Main.main:4;com/example/Foo$$Lambda_.run:0 [2 ${2n ** 61n}]`,
    );
  });

  it('steps over metadata/checkpoint records (type ids 0 and 1) when event types are absent', () => {
    const classes = standardClasses().filter(
      (c) => c.id !== T.executionSample && c.id !== T.allocInNewTlab,
    );
    const jfr = chunk({ classes, checkpoints: [pools()], events: [setting('event', 'wall')] });
    const res = decodeJfr(input(jfr));
    assert.deepEqual(res.profiles, []);
    assert.equal(res.jfrEvent, 'wall');
  });

  it('returns no profiles for an empty recording', () => {
    assert.deepEqual(decodeJfr(input(new Uint8Array(0))).profiles, []);
  });
});

describe('JFR chunk reader on bad input', () => {
  const good = standardChunk();
  const kindOf = (jfr: Uint8Array): string => {
    try {
      decodeJfr(input(jfr));
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof JfrError, String(e));
      return e.kind;
    }
  };

  it('refuses a wrong magic as malformed', () => {
    const b = good.slice();
    b[0] = 0x47;
    assert.equal(kindOf(b), 'malformed');
  });

  it('refuses JFR 1.x as unsupported', () => {
    const b = good.slice();
    b[5] = 1;
    assert.equal(kindOf(b), 'unsupported');
  });

  it('reports truncation at every cut of a chunk', () => {
    for (let n = 1; n < good.length; n += 7)
      assert.equal(kindOf(good.subarray(0, n)), 'truncated', `cut at ${n}`);
  });

  it('refuses a checkpoint chain that loops', () => {
    // two checkpoints whose deltas point at each other
    const p = pools();
    const jfr = chunk({ checkpoints: [p.slice(0, 3), p.slice(3)], events: [] });
    const view = new DataView(jfr.buffer);
    const last = Number(view.getBigUint64(16));
    // the last checkpoint's delta points back to the first; make the first point forward to the last
    const first = 68;
    const b = jfr.slice();
    // first checkpoint: size(4) type(1) start(1) duration(1) delta(1: 0)
    assert.equal(b[first + 7], 0);
    const fwd = new Bytes().varint(last - first).bytes();
    assert.equal(fwd.length, 1, 'test layout: forward delta fits one byte');
    b[first + 7] = fwd[0];
    assert.equal(kindOf(b), 'malformed');
  });

  it('refuses hostile counts without allocating them', () => {
    const p = pools();
    const st = p.find((x) => x.type === T.stackTrace) as PoolDef;
    st.entries = [[7, (b) => b.u8(0).varint(2n ** 40n)]];
    assert.equal(kindOf(chunk({ checkpoints: [p], events: [exec(7, 1)] })), 'truncated');
  });

  it('bounds inline nesting depth', () => {
    const classes = standardClasses();
    // custom.Inner contains itself inline: only depth stops it
    const inner = classes.find((c) => c.id === T.inner);
    assert.ok(inner);
    inner.fields = [{ name: 'self', type: T.inner }];
    const filler = new Bytes();
    for (let i = 0; i < 200; i++) filler.u8(0);
    const p = pools();
    p.push({ type: T.inner, entries: [[1, (b) => b.raw(filler.out)]] });
    assert.equal(kindOf(chunk({ classes, checkpoints: [p], events: [] })), 'limit');
  });
});
