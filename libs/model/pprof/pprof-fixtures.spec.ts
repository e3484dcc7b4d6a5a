import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofFormatProfile } from 'pprof-format';
import { fixturePath } from '../../../test/support/paths.js';
import { PprofDecodeError } from './errors.js';
import { decodePprof } from './profile-reader.js';
import { encodePprof } from './profile-writer.js';
import { followsInt64Rule, int64Values, normaliseOurs, normaliseTheirs } from './testing.js';

/** Fixture bytes, gunzipped when they start with the gzip magic (some `.gz` files are raw). */
function load(path: string): Buffer {
  const b = readFileSync(path);
  return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b;
}

const dir = fixturePath('pyroscope', 'pprof');
const fixtures = readdirSync(dir)
  .filter((f) => !f.endsWith('.json'))
  .map((f) => ({ name: `pprof/${f}`, path: `${dir}/${f}` }));
fixtures.push({ name: 'bench/large.cpu', path: fixturePath('bench', 'large.cpu') });

/** Fixtures Pyroscope itself rejects, and the kind our decoder must report for them. */
const rejected: Record<string, string> = { 'pprof/invalid_utf8.pb.gz': 'invalid-utf8' };

describe('pprof fixtures: ours against pprof-format', () => {
  it('finds the fixtures', () => {
    assert.ok(fixtures.length >= 25, `only ${fixtures.length} fixtures under ${dir}`);
  });

  for (const { name, path } of fixtures) {
    const kind = rejected[name];
    if (kind) {
      it(`${name}: rejected with kind ${kind}`, () => {
        const raw = load(path);
        assert.throws(
          () => decodePprof(raw),
          (e: unknown) => e instanceof PprofDecodeError && e.kind === kind,
        );
      });
      continue;
    }

    it(`${name}: decodes like pprof-format, field by field`, () => {
      const raw = load(path);
      const ours = decodePprof(raw);
      assert.ok(
        ours.sample.length > 0 || ours.stringTable.length > 1,
        'fixture decoded to nothing',
      );
      assert.deepStrictEqual(
        normaliseOurs(ours),
        normaliseTheirs(PprofFormatProfile.decode(Buffer.from(raw))),
      );
      for (const x of int64Values(ours)) assert.ok(followsInt64Rule(x), `Int64 rule: ${x}`);
    });

    it(`${name}: our encoding reads back the same with ours and with pprof-format`, () => {
      const ours = decodePprof(load(path));
      const encoded = encodePprof(ours);
      assert.deepStrictEqual(decodePprof(encoded), ours);
      assert.deepStrictEqual(
        normaliseTheirs(PprofFormatProfile.decode(Buffer.from(encoded))),
        normaliseOurs(ours),
      );
      // Stable: a second round trip produces the same bytes.
      assert.deepStrictEqual(encodePprof(decodePprof(encoded)), encoded);
    });
  }

  it('large.cpu has the documented shape', () => {
    const p = decodePprof(load(fixturePath('bench', 'large.cpu')));
    assert.equal(p.sample.length, 20_430);
    assert.equal(p.location.length, 23_355);
    assert.equal(p.function.length, 23_038);
  });
});
