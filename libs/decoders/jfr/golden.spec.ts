// Conformance with grafana/jfr-parser's golden outputs (fixtures README: golden/jfr-parser and
// bench/golden): every produced profile, rendered collapsed, must equal the upstream file byte for
// byte; labelled recordings must also carry the same sample labels as the non-collapsed goldens.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Profile } from '../../model/index.js';
import { fixturePath } from '../../../test/support/paths.js';
import { toCollapsed } from './collapsed.js';
import { decodeJfr, type JfrDecodeResult } from './profile-mapper.js';

interface Case {
  jfr: string;
  dir: 'pyroscope' | 'bench';
  labels?: string;
  /** jfr-parser's `expectedCount` */
  count: number;
  event: string;
}

const CASES: Case[] = [
  { jfr: 'example', dir: 'pyroscope', count: 4, event: 'cpu' },
  { jfr: 'FastSlow_2024_01_16_180855', dir: 'pyroscope', count: 3, event: 'wall' },
  { jfr: 'cortex-dev-01__kafka-0__cpu__0', dir: 'pyroscope', count: 1, event: 'cpu' },
  { jfr: 'cortex-dev-01__kafka-0__cpu_lock0_alloc0__0', dir: 'pyroscope', count: 5, event: 'cpu' },
  { jfr: 'cortex-dev-01__kafka-0__cpu_lock_alloc__0', dir: 'pyroscope', count: 2, event: 'cpu' },
  { jfr: 'dump1', dir: 'pyroscope', labels: 'dump1.labels.pb.gz', count: 1, event: 'itimer' },
  { jfr: 'dump2', dir: 'pyroscope', labels: 'dump2.labels.pb.gz', count: 4, event: 'wall' },
  { jfr: 'dd-trace-java', dir: 'pyroscope', count: 4, event: '' },
  { jfr: 'cpool-uint64-constant-index', dir: 'pyroscope', count: 5, event: '' },
  { jfr: 'object-allocation-sample', dir: 'pyroscope', count: 3, event: '' },
  { jfr: 'uint64-ref-id', dir: 'pyroscope', count: 5, event: '' },
  { jfr: 'parse_failure_repro1', dir: 'pyroscope', count: 1, event: 'itimer' },
  { jfr: 'wall_tick_sample', dir: 'pyroscope', count: 2, event: 'wall' },
  { jfr: 'nativemem', dir: 'pyroscope', count: 1, event: '' },
  {
    jfr: 'new_spancontext',
    dir: 'pyroscope',
    labels: 'new_spancontext.labels.gz',
    count: 1,
    event: 'ctimer',
  },
  { jfr: 'wall', dir: 'pyroscope', count: 2, event: 'wall' },
  { jfr: 'async-profiler', dir: 'bench', count: 3, event: 'cpu' },
  { jfr: 'goland-multichunk', dir: 'bench', count: 5, event: 'cpu' },
];

const gunzipFile = (p: string): Buffer => gunzipSync(readFileSync(p));

function decodeCase(c: Case): JfrDecodeResult {
  const jfrPath =
    c.dir === 'bench'
      ? fixturePath('bench', `${c.jfr}.jfr.gz`)
      : fixturePath('pyroscope/jfr', `${c.jfr}.jfr.gz`);
  return decodeJfr({
    jfr: gunzipFile(jfrPath),
    labels: c.labels === undefined ? undefined : gunzipFile(fixturePath('pyroscope/jfr', c.labels)),
    startNanos: 1706241880n * 1_000_000_000n,
    endNanos: 1706241890n * 1_000_000_000n,
    sampleRate: 100,
  });
}

function goldenDir(c: Case): string {
  return c.dir === 'bench'
    ? fixturePath('bench/golden')
    : fixturePath('pyroscope/golden/jfr-parser');
}

/** golden files of a case, by profile index: [collapsed name, ...] */
function goldens(c: Case, suffix: string): string[] {
  const re = new RegExp(`^${c.jfr.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)_.*${suffix}$`);
  const out: string[] = [];
  for (const f of readdirSync(goldenDir(c))) {
    const m = re.exec(f);
    if (m !== null) out[Number(m[1])] = f;
  }
  return out;
}

function sampleTypeName(p: Profile): string {
  return p.sampleType.map((t) => `${p.stringTable[t.type]}__${p.stringTable[t.unit]}`).join('+');
}

/** label set (`k:[v] …` sorted, as pprof's String() prints it) → [samples, summed values] */
type LabelTotals = Map<string, [number, bigint[]]>;

function ourLabelTotals(p: Profile): LabelTotals {
  const out: LabelTotals = new Map();
  for (const s of p.sample) {
    const key = s.label
      .map((l) => `${p.stringTable[l.key]}:[${p.stringTable[l.str]}]`)
      .sort()
      .join(' ');
    const cur = out.get(key) ?? [0, s.value.map(() => 0n)];
    cur[0]++;
    s.value.forEach((v, i) => (cur[1][i] += BigInt(v)));
    out.set(key, cur);
  }
  return out;
}

/** Parses the `Samples:` section of google/pprof's Profile.String() output. */
function goldenLabelTotals(text: string): LabelTotals {
  const lines = text.split('\n');
  const out: LabelTotals = new Map();
  let i = lines.indexOf('Samples:') + 2;
  const sampleLine = /^\s*(-?\d+(?:\s+-?\d+)*):/;
  while (i < lines.length && !lines[i].startsWith('Locations')) {
    const m = sampleLine.exec(lines[i]);
    i++;
    if (m === null) continue;
    const values = m[1].trim().split(/\s+/).map(BigInt);
    let key = '';
    if (i < lines.length && !sampleLine.test(lines[i]) && lines[i].includes(':['))
      key = lines[i++].trim();
    const cur = out.get(key) ?? [0, values.map(() => 0n)];
    cur[0]++;
    values.forEach((v, k) => (cur[1][k] += v));
    out.set(key, cur);
  }
  return out;
}

describe('JFR golden conformance (jfr-parser collapsed goldens)', () => {
  for (const c of CASES) {
    it(c.jfr, () => {
      const res = decodeCase(c);
      const files = goldens(c, '_expected_collapsed.txt.gz');
      assert.equal(res.profiles.length, c.count, 'profile count (jfr-parser expectedCount)');
      assert.equal(files.length, c.count, 'golden files');
      assert.equal(res.jfrEvent, c.event, 'jfr_event');
      res.profiles.forEach((p, i) => {
        assert.equal(
          files[i],
          `${c.jfr}_${i}_${p.metric}_${sampleTypeName(p.profile)}_expected_collapsed.txt.gz`,
        );
        assert.equal(p.jfrEvent, c.event);
        const expected = gunzipFile(`${goldenDir(c)}/${files[i]}`).toString('utf8');
        assert.equal(toCollapsed(p.profile), expected, files[i]);
      });
    });
  }

  for (const c of CASES.filter((x) => x.labels !== undefined)) {
    it(`${c.jfr}: sample labels as in the non-collapsed goldens`, () => {
      const res = decodeCase(c);
      const files = goldens(c, '_expected.txt.gz');
      let labelled = 0;
      res.profiles.forEach((p, i) => {
        const expected = goldenLabelTotals(
          gunzipFile(`${goldenDir(c)}/${files[i]}`).toString('utf8'),
        );
        if (expected.size > 1) labelled++;
        assert.deepEqual(ourLabelTotals(p.profile), expected, files[i]);
      });
      assert.ok(labelled > 0, 'the goldens have labelled samples');
    });
  }

  it('profile type ids (cortex cpu_lock0_alloc0: the nine types Pyroscope indexes)', () => {
    const res = decodeCase(CASES[3]);
    assert.deepEqual(res.profiles.flatMap((p) => p.profileTypeIds).sort(), [
      'block:contentions:count:block:count',
      'block:delay:nanoseconds:block:count',
      'memory:alloc_in_new_tlab_bytes:bytes:space:bytes',
      'memory:alloc_in_new_tlab_objects:count:space:bytes',
      'memory:alloc_outside_tlab_bytes:bytes:space:bytes',
      'memory:alloc_outside_tlab_objects:count:space:bytes',
      'mutex:contentions:count:mutex:count',
      'mutex:delay:nanoseconds:mutex:count',
      'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
    ]);
    const dump2 = decodeCase(CASES[6]);
    assert.ok(
      dump2.profiles.some((p) => p.profileTypeIds.includes('memory:live:count:objects:count')),
    );
    assert.ok(
      dump2.profiles.some((p) =>
        p.profileTypeIds.includes('wall:wall:nanoseconds:wall:nanoseconds'),
      ),
    );
    const native = decodeCase(CASES[13]);
    assert.deepEqual(native.profiles[0].profileTypeIds, [
      'memory:malloc_objects:count::',
      'memory:malloc_bytes:bytes::',
    ]);
    assert.equal(native.profiles[0].profile.periodType, undefined);
  });
});
