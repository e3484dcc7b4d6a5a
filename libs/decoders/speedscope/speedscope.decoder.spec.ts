import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { getLabel, profileTypeIds } from '../../model/index.js';
import { fixturePath } from '../../../test/support/paths.js';
import { isDecodeError } from '../decode-error.js';
import type { DecodedSeries } from '../decoder.js';
import { decodeUpload } from '../registry.js';
import { uploadInput } from '../spec-fixtures.js';
import { collapsed } from '../spec-stacks.js';

const fixture = (name: string): Uint8Array =>
  readFileSync(fixturePath('pyroscope', 'speedscope', name));

const types = (s: DecodedSeries): string[] =>
  profileTypeIds(getLabel(s.labels, '__name__')!, s.profile);

describe('speedscope decoder', () => {
  it('simple (evented, unit none): one series, sample rate 10000', () => {
    const [s, ...rest] = decodeUpload(
      uploadInput('speedscope', fixture('simple.speedscope.json'), 'foo'),
    );
    assert.equal(rest.length, 0);
    assert.equal(getLabel(s.labels, 'profile_name'), 'simple.txt');
    assert.equal(getLabel(s.labels, 'service_name'), 'foo');
    assert.deepEqual(types(s), ['process_cpu:cpu:nanoseconds:cpu:nanoseconds']);
    const period = 1e9 / 10000;
    assert.deepEqual(
      collapsed(s.profile),
      new Map([
        ['a;b', 500 * period],
        ['a;b;c', 500 * period],
        ['a;b;d', 400 * period],
      ]),
    );
  });

  it('two-sampled (seconds): two wall series named foo.seconds', () => {
    const series = decodeUpload(
      uploadInput('speedscope', fixture('two-sampled.speedscope.json'), 'foo{x=y}'),
    );
    assert.deepEqual(series.map((s) => getLabel(s.labels, 'profile_name')).sort(), ['one', 'two']);
    for (const s of series) {
      assert.equal(getLabel(s.labels, 'x'), 'y');
      assert.equal(getLabel(s.labels, 'service_name'), 'foo');
      assert.deepEqual(types(s), ['wall:wall:nanoseconds:cpu:nanoseconds']);
      const period = 1e9 / 100;
      assert.deepEqual(
        collapsed(s.profile),
        new Map([
          ['a;b', 500 * period],
          ['a;b;c', 500 * period],
          ['a;b;d', 400 * period],
        ]),
      );
    }
  });

  it('two-sampled-bytes: memory:samples:bytes::', () => {
    const series = decodeUpload(
      uploadInput('speedscope', fixture('two-sampled-bytes.speedscope.json'), 'foo{x=y}'),
    );
    assert.equal(series.length, 2);
    for (const s of series) assert.deepEqual(types(s), ['memory:samples:bytes::']);
  });

  it('duplicates: merged into one series', () => {
    const [s, ...rest] = decodeUpload(
      uploadInput('speedscope', fixture('duplicates.speedscope.json'), 'foo{x=y}'),
    );
    assert.equal(rest.length, 0);
    assert.equal(getLabel(s.labels, 'profile_name'), 'one');
    const period = 1e9 / 100;
    assert.deepEqual(
      collapsed(s.profile),
      new Map([
        ['a;b', 1500 * period],
        ['a;b;c', 1500 * period],
        ['a;b;d', 1200 * period],
      ]),
    );
  });

  it('nanoseconds: upstream uint32 overflow makes the period 0, so nothing is stored', () => {
    const body = JSON.stringify({
      $schema: 'https://www.speedscope.app/file-format-schema.json',
      shared: { frames: [{ name: 'a' }] },
      profiles: [{ type: 'sampled', name: 'p', unit: 'nanoseconds', samples: [[0]], weights: [5] }],
    });
    assert.deepEqual(decodeUpload(uploadInput('speedscope', body, 'foo')), []);
  });

  it('matches keys case-insensitively as Go does', () => {
    const body = JSON.stringify({
      $SCHEMA: 'https://www.speedscope.app/file-format-schema.json',
      Shared: { Frames: [{ NAME: 'a' }] },
      profiles: [{ Type: 'sampled', name: 'p', unit: 'seconds', samples: [[0]], weights: [2] }],
    });
    const [s] = decodeUpload(uploadInput('speedscope', body, 'foo', { sampleRate: 0 }));
    assert.deepEqual(collapsed(s.profile), new Map([['a', 200]]));
  });

  it('rejects what upstream rejects', () => {
    const base = {
      $schema: 'https://www.speedscope.app/file-format-schema.json',
      shared: { frames: [{ name: 'a' }] },
    };
    const bad = [
      '{',
      '\ufeff{}',
      JSON.stringify({ $schema: 'x' }),
      JSON.stringify({
        ...base,
        profiles: [{ type: 'sampled', unit: 'parsecs', samples: [], weights: [] }],
      }),
      JSON.stringify({
        ...base,
        profiles: [{ type: 'sampled', unit: 'seconds', samples: [[0]], weights: [] }],
      }),
      JSON.stringify({
        ...base,
        profiles: [{ type: 'sampled', unit: 'seconds', samples: [[0]], weights: [-1] }],
      }),
      JSON.stringify({
        ...base,
        profiles: [{ type: 'sampled', unit: 'seconds', samples: [[1]], weights: [1] }],
      }),
      JSON.stringify({ ...base, profiles: [{ type: 'other', unit: 'seconds' }] }),
      JSON.stringify({
        ...base,
        profiles: [{ type: 'evented', unit: 'seconds', events: [{ type: 'C', at: 0, frame: 0 }] }],
      }),
      JSON.stringify({ ...base, profiles: [{ type: 'sampled', unit: 'seconds', name: 5 }] }),
    ];
    for (const body of bad) {
      assert.throws(
        () => decodeUpload(uploadInput('speedscope', body, 'foo')),
        (e) => isDecodeError(e) && e.reason === 'malformed_profile',
        body,
      );
    }
  });

  it('deep evented stacks stay linear', () => {
    const depth = 50000;
    const events = [];
    for (let i = 0; i < depth; i++) events.push({ type: 'O', at: 0, frame: 0 });
    for (let i = 0; i < depth; i++) events.push({ type: 'C', at: 10, frame: 0 });
    const body = JSON.stringify({
      $schema: 'https://www.speedscope.app/file-format-schema.json',
      shared: { frames: [{ name: 'f' }] },
      profiles: [{ type: 'evented', name: 'p', unit: 'none', startValue: 0, events }],
    });
    const t0 = performance.now();
    const [s] = decodeUpload(uploadInput('speedscope', body, 'foo', { sampleRate: 0 }));
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(s.profile.sample.length, 1);
    assert.equal(s.profile.sample[0].locationId.length, 1000); // depth limit, root side kept
    assert.equal(s.profile.sample[0].value[0], 1000);
  });
});
