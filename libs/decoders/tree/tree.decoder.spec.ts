import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { fixturePath } from '../../../test/support/paths.js';
import { isDecodeError } from '../decode-error.js';
import { decodeUpload } from '../registry.js';
import { uploadInput } from '../spec-fixtures.js';
import { collapsed } from '../spec-stacks.js';

const fixture = (name: string): Uint8Array =>
  readFileSync(fixturePath('pyroscope', 'legacy', name));

/** Serialises nodes `[name, self, children]` in the tree layout. */
type N = [string, number, N[]];
function ser(n: N): number[] {
  const name = [...Buffer.from(n[0])];
  return [name.length, ...name, n[1], n[2].length, ...n[2].flatMap(ser)];
}

describe('tree decoder', () => {
  it('decodes the upstream no-dict test vector', () => {
    const [s] = decodeUpload(
      uploadInput('tree', fixture('tree-nodict-testvector.bin'), 'app', { sampleRate: 0 }),
    );
    assert.deepEqual(
      collapsed(s.profile),
      new Map([
        ['a;b', 1],
        ['a;c', 2],
      ]),
    );
  });

  it('decodes dump1-cpu.tree.bin to the folded fixture', () => {
    const [t] = decodeUpload(uploadInput('tree', fixture('dump1-cpu.tree.bin'), 'app.cpu'));
    const [f] = decodeUpload(uploadInput('groups', fixture('dump1-cpu.folded.txt'), 'app.cpu'));
    assert.deepEqual(collapsed(t.profile), collapsed(f.profile));
    assert.equal(collapsed(t.profile).size, 52);
  });

  it('merges same-named siblings (later self wins) and re-splits names on ;', () => {
    const body = new Uint8Array(
      ser([
        '',
        0,
        [
          ['a', 1, [['x;y', 4, []]]],
          ['a', 5, [['z', 2, []]]],
        ],
      ]),
    );
    const [s] = decodeUpload(uploadInput('tree', body, 'app', { sampleRate: 0 }));
    assert.deepEqual(
      collapsed(s.profile),
      new Map([
        ['a', 5],
        ['a;x;y', 4],
        ['a;z', 2],
      ]),
    );
  });

  it('cuts a named root the way Go slices the label', () => {
    const body = new Uint8Array(ser(['rt', 3, [['b', 1, []]]]));
    const [s] = decodeUpload(uploadInput('tree', body, 'app', { sampleRate: 0 }));
    assert.deepEqual(
      collapsed(s.profile),
      new Map([
        ['t', 3],
        ['t;b', 1],
      ]),
    );
  });

  it('rejects truncated input, an empty body and over-limit counts', () => {
    for (const body of [[], [0, 0], [0, 0, 1], [5, 0x61]]) {
      assert.throws(
        () => decodeUpload(uploadInput('tree', new Uint8Array(body), 'app')),
        (e) => isDecodeError(e) && e.reason === 'malformed_profile',
      );
    }
    assert.throws(
      () => decodeUpload(uploadInput('tree', new Uint8Array([0, 0, 0x81, 0x7d]), 'app')),
      (e) => isDecodeError(e) && /children count 16001/.test(e.message),
    );
  });

  it('stays linear on a deep chain', () => {
    const depth = 50000;
    const bytes: number[] = [];
    for (let i = 0; i < depth; i++)
      bytes.push(1, 0x61, i === depth - 1 ? 1 : 0, i === depth - 1 ? 0 : 1);
    const t0 = Date.now();
    const [s] = decodeUpload(uploadInput('tree', new Uint8Array(bytes), 'app', { sampleRate: 0 }));
    assert.equal(s.profile.sample[0].locationId.length, 1000);
    assert.ok(Date.now() - t0 < 2000);
  });
});
