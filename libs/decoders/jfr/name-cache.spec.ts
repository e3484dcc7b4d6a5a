import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { fixturePath } from '../../../test/support/paths.js';
import { toCollapsed } from './collapsed.js';
import { NameCache } from './name-cache.js';
import { decodeJfr, type JfrDecodeResult, type JfrInput } from './profile-mapper.js';
import { T, chunk, concat, exec, pools, setting, type PoolDef } from './testing.js';

function input(jfr: Uint8Array): JfrInput {
  return {
    jfr,
    startNanos: 1706241880n * 1_000_000_000n,
    endNanos: 1706241890n * 1_000_000_000n,
    sampleRate: 100,
  };
}

/** The standard pools with symbol id 3 (the second method's name) spelled `name`. */
function poolsNaming(name: string, shift = 0n): PoolDef[] {
  const p = pools(shift);
  const symbols = p.find((x) => x.type === T.symbol) as PoolDef;
  symbols.entries = symbols.entries.map(([id, w]) =>
    id === 3n + shift ? [id, (b) => b.string(name)] : [id, w],
  );
  return p;
}

function recording(name: string, shift = 0n): Uint8Array {
  const s = (v: number) => BigInt(v) + shift;
  return chunk({
    checkpoints: [poolsNaming(name, shift)],
    events: [setting('event', 'cpu'), exec(s(7), s(1)), exec(s(7), s(1))],
  });
}

/** Everything a decode produces that the pipeline reads, comparable with deepEqual. */
function summary(r: JfrDecodeResult): unknown {
  return r.profiles.map((p) => ({
    metric: p.metric,
    collapsed: toCollapsed(p.profile),
    p: p.profile,
  }));
}

describe('JFR name cache across decodes', () => {
  it('two recordings reusing ids with different names map each to its own names', () => {
    const cache = new NameCache();
    const a = decodeJfr(input(recording('work')), undefined, cache);
    const b = decodeJfr(input(recording('play')), undefined, cache);
    assert.match(toCollapsed(a.profiles[0].profile), /com\/example\/Main\.work:12/);
    assert.match(toCollapsed(b.profiles[0].profile), /com\/example\/Main\.play:12/);
    assert.doesNotMatch(toCollapsed(b.profiles[0].profile), /\.work/);
    assert.deepEqual(summary(b), summary(decodeJfr(input(recording('play')))));
    // and back: the first content under the same ids again
    assert.deepEqual(summary(decodeJfr(input(recording('work')), undefined, cache)), summary(a));
  });

  it('one name under other ids in a later recording resolves from the cache to the same result', () => {
    const cache = new NameCache();
    decodeJfr(input(recording('work')), undefined, cache);
    const size = cache.size;
    const shifted = decodeJfr(input(recording('work', 7000n)), undefined, cache);
    assert.equal(cache.size, size, 'no new entries: found by content, not by id');
    assert.deepEqual(summary(shifted), summary(decodeJfr(input(recording('work', 7000n)))));
  });

  it('starts over when over its limits, before a decode, with the same results', () => {
    const cache = new NameCache({ maxEntries: 1, maxBytes: 1 << 20 });
    decodeJfr(input(recording('work')), undefined, cache);
    assert.equal(cache.size, 2);
    const again = decodeJfr(input(concat(recording('x1'), recording('x2'))), undefined, cache);
    assert.equal(cache.size, 3, 'emptied, then Main.main, Main.x1, Main.x2');
    assert.deepEqual(
      summary(again),
      summary(decodeJfr(input(concat(recording('x1'), recording('x2'))))),
    );
  });

  it('every JFR fixture decoded after all the others through one cache equals a cold decode', () => {
    const files = [
      ...readdirSync(fixturePath('pyroscope/jfr'))
        .filter((f) => f.endsWith('.jfr.gz'))
        .map((f) => fixturePath('pyroscope/jfr', f)),
      ...readdirSync(fixturePath('bench'))
        .filter((f) => f.endsWith('.jfr.gz'))
        .map((f) => fixturePath('bench', f)),
    ];
    assert.ok(files.length >= 10, `fixtures found: ${files.length}`);
    const cache = new NameCache();
    for (const round of [0, 1]) {
      for (const f of files) {
        const jfr = gunzipSync(readFileSync(f));
        const cold = summary(decodeJfr(input(jfr)));
        assert.deepEqual(
          summary(decodeJfr(input(jfr), undefined, cache)),
          cold,
          `${f} round ${round}`,
        );
      }
    }
    assert.ok(cache.size > 100);
  });
});
