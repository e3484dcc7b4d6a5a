import { Module, createRequire } from 'node:module';

// kafkajs checksums every record batch it produces with CRC-32C in JavaScript, one byte at a time:
// about 3 ms of the event loop per 1.5 MB upload on this machine kind, paid by ingest for each
// upload and by the decoder again for its larger output. @node-rs/crc32 computes the same
// checksum natively (SSE 4.2), about 15x faster (0.2 ms). kafkajs has no hook for it, so this
// module puts the native function in the require cache under kafkajs's own module before
// kafkajs loads it. Import it before kafkajs. Where the native package cannot load (a platform
// without a prebuilt binary), kafkajs keeps its own implementation: same results, slower.

const require = createRequire(import.meta.url);

/** Whether produce requests are checksummed natively in this process. */
export let nativeCrc32c = false;

try {
  const { crc32c } = require('@node-rs/crc32') as { crc32c: (b: Buffer) => number };
  const impl = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js');
  const wrapper = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/index.js');
  // kafkajs's wrapper takes the function when it loads: too late once it is loaded
  if (!require.cache[wrapper]) {
    const mod = new Module(impl);
    mod.filename = impl;
    mod.loaded = true;
    // kafkajs's contract: an unsigned 32-bit CRC-32C of the whole buffer
    mod.exports = (buffer: Buffer): number => crc32c(buffer) >>> 0;
    require.cache[impl] = mod;
    nativeCrc32c = true;
  }
} catch {
  // no native binary here: kafkajs's JavaScript CRC-32C stays in use
}
