import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { profileTypeIds } from '../../model/index.js';
import type { Profile } from '../../model/index.js';
import { isDecodeError } from '../decode-error.js';
import { defaultLimits } from '../decoder.js';
import { decodeUpload } from '../registry.js';
import { uploadInput } from '../spec-fixtures.js';

/** `root;…;leaf` → value, from a decoded single-type profile. */
function stacks(p: Profile): Map<string, number> {
  const out = new Map<string, number>();
  const fnName = new Map(p.function.map((f) => [f.id, p.stringTable[f.name]]));
  const locName = new Map(p.location.map((l) => [l.id, fnName.get(l.line[0].functionId)]));
  for (const s of p.sample) {
    const key = s.locationId
      .map((id) => locName.get(id))
      .reverse()
      .join(';');
    out.set(key, (out.get(key) ?? 0) + Number(s.value[0]));
  }
  return out;
}

describe('folded decoder (groups)', () => {
  it('decodes the upstream groups test vector', () => {
    const [s, ...rest] = decodeUpload(uploadInput('groups', 'foo;bar 10\nfoo;baz 20\n', 'app'));
    assert.equal(rest.length, 0);
    assert.deepEqual(s.labels, [
      { name: '__delta__', value: 'false' },
      { name: '__name__', value: 'process_cpu' },
      { name: 'pyroscope_spy', value: 'unknown' },
      { name: 'service_name', value: 'app' },
    ]);
    assert.deepEqual(profileTypeIds('process_cpu', s.profile), [
      'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
    ]);
    assert.deepEqual(
      stacks(s.profile),
      new Map([
        ['foo;bar', 100000000],
        ['foo;baz', 200000000],
      ]),
    );
    assert.equal(s.profile.period, 10000000);
    assert.equal(s.profile.timeNanos, 1700000000000000000n);
  });

  it('sums duplicate stacks, skips lines without a space, drops one trailing ;', () => {
    const [s] = decodeUpload(
      uploadInput('groups', 'a;b 1\r\na;b; 2\nnospace\na;;c 3', 'app.cpu', { sampleRate: 0 }),
    );
    assert.deepEqual(
      stacks(s.profile),
      new Map([
        ['a;b', 3],
        ['a;;c', 3],
      ]),
    );
    assert.deepEqual(profileTypeIds('process_cpu', s.profile), ['process_cpu:samples:count::']);
  });

  it('rejects a value that is not an int64', () => {
    for (const body of ['a 1.5', 'a x', 'a ', 'a 9223372036854775808']) {
      assert.throws(
        () => decodeUpload(uploadInput('groups', body, 'app')),
        (e) => isDecodeError(e) && e.kind === 'malformed' && e.reason === 'malformed_profile',
      );
    }
  });

  it('drops negative and zero stacks (Pyroscope normalisation)', () => {
    const [s] = decodeUpload(uploadInput('groups', 'a -5\nb 0\nc 1', 'app.alloc_objects'));
    assert.deepEqual(stacks(s.profile), new Map([['c', 1]]));
    assert.deepEqual(s.labels.find((l) => l.name === '__name__')?.value, 'memory');
    assert.deepEqual(profileTypeIds('memory', s.profile), ['memory:alloc_objects:count::']);
  });

  it('stops silently at a line of 64 KiB', () => {
    const long = 'x'.repeat(defaultLimits.maxLineBytes) + ' 1';
    const [s] = decodeUpload(
      uploadInput('groups', `a 1\n${long}\nb 1\n`, 'app', { sampleRate: 0 }),
    );
    assert.deepEqual(stacks(s.profile), new Map([['a', 1]]));
  });

  it('maps the app-name suffix, keeps service_name from the labels as app_name', () => {
    const [s] = decodeUpload(
      uploadInput('groups', 'a 1', 'my.app.wall{service_name=svc,__x=1,__session_id__=00}'),
    );
    assert.deepEqual(s.labels, [
      { name: '__delta__', value: 'false' },
      { name: '__name__', value: 'wall' },
      { name: 'app_name', value: 'my.app' },
      { name: 'pyroscope_spy', value: 'unknown' },
      { name: 'service_name', value: 'svc' },
    ]);
    assert.deepEqual(profileTypeIds('wall', s.profile), ['wall:wall:nanoseconds:cpu:nanoseconds']);
  });

  it('rejects an unknown type suffix; drops an upload labelled with profile_id', () => {
    assert.throws(
      () => decodeUpload(uploadInput('groups', 'a 1', 'app.nope')),
      (e) => isDecodeError(e) && e.kind === 'invalid_labels',
    );
    assert.deepEqual(decodeUpload(uploadInput('groups', 'a 1', 'app{profile_id=1}')), []);
  });

  it('rejects frame names that are not UTF-8, only when they reach the profile', () => {
    const bad = new Uint8Array([0x61, 0xff, 0x20, 0x31]); // "a\xff 1"
    assert.throws(
      () => decodeUpload(uploadInput('groups', bad, 'app')),
      (e) => isDecodeError(e) && e.kind === 'invalid_utf8',
    );
    const zero = new Uint8Array([0x61, 0xff, 0x20, 0x30, 0x0a, 0x62, 0x20, 0x31]); // "a\xff 0\nb 1"
    assert.equal(decodeUpload(uploadInput('groups', zero, 'app')).length, 1);
  });

  it('produces no series for an empty body', () => {
    assert.deepEqual(decodeUpload(uploadInput('groups', '', 'app')), []);
  });
});

describe('folded decoder (lines)', () => {
  it('decodes the upstream lines test vector', () => {
    const [s] = decodeUpload(uploadInput('lines', 'foo;bar\nfoo;baz\n', 'app', { sampleRate: 0 }));
    assert.deepEqual(
      stacks(s.profile),
      new Map([
        ['foo;bar', 1],
        ['foo;baz', 1],
      ]),
    );
  });

  it('counts identical lines, ignores empty ones, rejects a 64 KiB line', () => {
    const [s] = decodeUpload(uploadInput('lines', 'a b\n\na b\nc\n', 'app', { sampleRate: 0 }));
    assert.deepEqual(
      stacks(s.profile),
      new Map([
        ['a b', 2],
        ['c', 1],
      ]),
    );
    assert.throws(
      () => decodeUpload(uploadInput('lines', 'x'.repeat(70000), 'app')),
      (e) => isDecodeError(e) && e.kind === 'malformed',
    );
  });
});
