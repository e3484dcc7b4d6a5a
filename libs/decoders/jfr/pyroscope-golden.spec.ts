// Conformance with what Pyroscope itself returns after ingesting the JFR fixtures
// (golden/pyroscope-jfr: SelectMergeProfile results per profile type and thread_name matcher).
// Our samples, filtered by the same thread_name label, must give the same stacks and totals.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import type { Profile } from '../../model/index.js';
import { fixturePath } from '../../../test/support/paths.js';
import { decodeJfr, type JfrDecodeResult } from './profile-mapper.js';
import { PYROSCOPE_JFR_THREAD_OF_HASH } from './testing.js';

const LABELS: Record<string, string | undefined> = {
  dump1: 'dump1.labels.pb.gz',
  dump2: 'dump2.labels.pb.gz',
};

const dir = fixturePath('pyroscope/golden/pyroscope-jfr');
const decoded = new Map<string, JfrDecodeResult>();

function decode(jfr: string): JfrDecodeResult {
  let res = decoded.get(jfr);
  if (res === undefined) {
    const labels = LABELS[jfr];
    res = decodeJfr({
      jfr: gunzipSync(readFileSync(fixturePath('pyroscope/jfr', `${jfr}.jfr.gz`))),
      labels:
        labels === undefined
          ? undefined
          : gunzipSync(readFileSync(fixturePath('pyroscope/jfr', labels))),
      startNanos: 1706241880n * 1_000_000_000n,
      endNanos: 1706241890n * 1_000_000_000n,
      sampleRate: 100,
    });
    decoded.set(jfr, res);
  }
  return res;
}

/** stack (`root;…;leaf` with lines) → summed value of sample type `k`, zero stacks left out */
function ourStacks(p: Profile, k: number, thread: string | undefined): Map<string, bigint> {
  const fname = new Map(p.function.map((f) => [f.id, p.stringTable[f.name]]));
  const loc = new Map(
    p.location.map((l) => [
      l.id,
      l.line.map((ln) => `${fname.get(ln.functionId)}:${ln.line}`).join(';'),
    ]),
  );
  const out = new Map<string, bigint>();
  for (const s of p.sample) {
    if (thread !== undefined) {
      const t = s.label.find((l) => p.stringTable[l.key] === 'thread_name');
      if (t === undefined || p.stringTable[t.str] !== thread) continue;
    }
    const key = s.locationId
      .map((id) => loc.get(id))
      .reverse()
      .join(';');
    out.set(key, (out.get(key) ?? 0n) + BigInt(s.value[k]));
  }
  for (const [key, v] of out) if (v === 0n) out.delete(key);
  return out;
}

function goldenStacks(file: string): Map<string, bigint> {
  let raw: Uint8Array = readFileSync(file);
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  const p = PprofProfile.decode(raw);
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
  const fname = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const loc = new Map(
    p.location.map((l) => [
      Number(l.id),
      l.line.map((ln) => `${fname.get(Number(ln.functionId))}:${ln.line}`).join(';'),
    ]),
  );
  assert.equal(p.sampleType.length, 1, 'each golden has one sample type');
  const out = new Map<string, bigint>();
  for (const s of p.sample) {
    const key = s.locationId
      .map((id) => loc.get(Number(id)))
      .reverse()
      .join(';');
    out.set(key, (out.get(key) ?? 0n) + BigInt(s.value[0]));
  }
  for (const [key, v] of out) if (v === 0n) out.delete(key);
  return out;
}

const total = (m: Map<string, bigint>): bigint => [...m.values()].reduce((a, b) => a + b, 0n);

describe('JFR conformance with Pyroscope query results (golden/pyroscope-jfr)', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.pb.gz'));
  assert.ok(files.length >= 30);
  for (const f of files) {
    const m = /^(.+)\.jfr\.gz\.(.+)\.(\d+)\.pb\.gz$/.exec(f);
    if (m === null) continue;
    const [, jfr, type, hash] = m;
    const thread = PYROSCOPE_JFR_THREAD_OF_HASH[hash];
    it(`${jfr} ${type} ${thread ?? '(all threads)'}`, () => {
      assert.ok(hash in PYROSCOPE_JFR_THREAD_OF_HASH, `known query hash ${hash}`);
      const res = decode(jfr);
      let found = false;
      for (const p of res.profiles) {
        const k = p.profileTypeIds.findIndex((id) => id.replace(/:/g, '_') === type);
        if (k < 0) continue;
        found = true;
        const ours = ourStacks(p.profile, k, thread);
        const expected = goldenStacks(`${dir}/${f}`);
        assert.equal(total(ours), total(expected), 'total');
        assert.ok(ours.size > 0);
        assert.deepEqual(ours, expected);
      }
      assert.ok(found, `a produced profile has type ${type}`);
    });
  }
});
