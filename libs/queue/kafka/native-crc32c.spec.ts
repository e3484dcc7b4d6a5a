import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import { nativeCrc32c } from './native-crc32c.js';

const require = createRequire(import.meta.url);

// kafkajs's own byte-at-a-time implementation, read from its file (not through the cache)
function kafkajsCrc32c(): (b: Buffer) => number {
  const path = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js');
  const src = require('node:fs').readFileSync(path, 'utf8') as string;
  const m = { exports: {} as unknown };
  new Function('module', 'exports', src)(m, m.exports);
  return m.exports as (b: Buffer) => number;
}

it('kafkajs checksums record batches with the native CRC-32C, with the same results', () => {
  assert.equal(nativeCrc32c, true, '@node-rs/crc32 loads on this platform');
  const patched = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
    b: Buffer,
  ) => number;
  const reference = kafkajsCrc32c();
  for (const n of [0, 1, 7, 64, 1000, 65_537, 1_500_000]) {
    const b = randomBytes(n);
    assert.equal(patched(b), reference(b) >>> 0, `${n} bytes`);
  }
  assert.equal(patched(Buffer.from('123456789')), 0xe3069283); // the CRC-32C check value
});
