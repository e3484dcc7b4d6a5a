import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { readChunkHeader } from './chunk-header.js';
import { concat, standardChunk } from './testing.js';

describe('JFR chunk header', () => {
  it('reads offsets and sizes relative to the chunk start', () => {
    const a = standardChunk(0n);
    const b = standardChunk(5000n);
    const h = readChunkHeader(concat(a, b), a.length);
    assert.equal(h.start, a.length);
    assert.equal(h.size, b.length);
    assert.ok(h.checkpointOffset >= 68 && h.checkpointOffset < h.size);
    assert.ok(h.metadataOffset >= 68 && h.metadataOffset < h.size);
  });

  // Regression: the offsets were computed as `hi * 2^32 + lo`, which V8 keeps as a heap number
  // even when small. Every position derived from the second chunk's start then was one, the
  // readers' position fields changed representation, and after one multi-chunk recording the event
  // loop's optimised code was thrown away: later decodes ran about 2x slower (bench/jfr.ts).
  it('returns offsets as small integers (regression: slow decodes after a multi-chunk file)', () => {
    const script = `
      const { readChunkHeader } = await import(${JSON.stringify(new URL('./chunk-header.js', import.meta.url).href)});
      const { concat, standardChunk } = await import(${JSON.stringify(new URL('./testing.js', import.meta.url).href)});
      const a = standardChunk(0n);
      const h = readChunkHeader(concat(a, standardChunk(7n)), a.length);
      const isSmi = new Function('x', 'return %IsSmi(x)');
      console.log(JSON.stringify([h.start, h.size, h.checkpointOffset, h.metadataOffset].map(isSmi)));`;
    const r = spawnSync(
      process.execPath,
      ['--allow-natives-syntax', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [true, true, true, true]);
  });
});
