import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { fixturePath } from '../../../test/support/paths.js';
import { isDecodeError } from '../decode-error.js';
import { decodeUpload } from '../registry.js';
import { uploadInput } from '../spec-fixtures.js';
import { collapsed } from '../spec-stacks.js';
import { iterateTrie } from './trie.decoder.js';

const fixture = (name: string): Uint8Array =>
  readFileSync(fixturePath('pyroscope', 'legacy', name));

describe('trie decoder', () => {
  it('iterates the upstream test vector', () => {
    const keys: [string, bigint][] = [];
    iterateTrie(fixture('trie-testvector.bin'), (k, v) => keys.push([k, v]), 0);
    assert.deepEqual(keys, [
      ['abc', 1n],
      ['abd', 2n],
    ]);
  });

  it('decodes the test vector into a series', () => {
    const [s] = decodeUpload(
      uploadInput('trie', fixture('trie-testvector.bin'), 'app', { sampleRate: 0 }),
    );
    assert.deepEqual(
      collapsed(s.profile),
      new Map([
        ['abc', 1],
        ['abd', 2],
      ]),
    );
  });

  it('decodes dump1-cpu.trie.bin to the folded fixture', () => {
    const [t] = decodeUpload(uploadInput('trie', fixture('dump1-cpu.trie.bin'), 'app.cpu'));
    const [f] = decodeUpload(uploadInput('groups', fixture('dump1-cpu.folded.txt'), 'app.cpu'));
    assert.deepEqual(collapsed(t.profile), collapsed(f.profile));
  });

  it('treats the end of input before a node as a clean end, inside a node as an error', () => {
    assert.deepEqual(decodeUpload(uploadInput('trie', new Uint8Array([]), 'app')), []);
    const [s] = decodeUpload(
      uploadInput('trie', new Uint8Array([0, 0, 2, 1, 0x61, 7, 0]), 'app', { sampleRate: 0 }),
    );
    assert.deepEqual(collapsed(s.profile), new Map([['a', 7]]));
    for (const body of [[0], [0, 0], [1, 0x61, 0x80]]) {
      assert.throws(
        () => decodeUpload(uploadInput('trie', new Uint8Array(body), 'app')),
        (e) => isDecodeError(e) && e.reason === 'malformed_profile',
      );
    }
  });
});
