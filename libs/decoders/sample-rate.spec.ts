import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { profileTypeIds } from '../model/index.js';
import { fixturePath } from '../../test/support/paths.js';
import { decodeUpload } from './registry.js';
import { uploadInput } from './spec-fixtures.js';

// sampleRate as Pyroscope applies it (libs/protocol/README.md, "sampleRate"): it scales only
// CPU and wall values of legacy and JFR uploads, by a period of 1e9 / sampleRate ns in integer
// arithmetic. 0 means no scaling for legacy formats (counts stay samples/count) and a period of 0
// for JFR (every CPU/wall value 0). Samples whose values are all 0 are removed by normalisation
// and a series left without samples is not stored (the upload is still answered 200, as
// Pyroscope's distributor does). Regression: a sampleRate=0 upload was reported to store an empty
// series; these pin what is stored per case.

const total = (p: { sample: { value: (number | bigint)[] }[] }, i = 0): number =>
  p.sample.reduce((n, s) => n + Number(s.value[i]), 0);

describe('sampleRate rules', () => {
  it('scales legacy CPU values by 1e9/sampleRate; 0 keeps counts as samples/count', () => {
    const body = 'main;work 30\nmain;idle 10\n';
    const [hz100] = decodeUpload(uploadInput('groups', body, 'app.cpu', { sampleRate: 100 }));
    assert.deepEqual(profileTypeIds('process_cpu', hz100.profile), [
      'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
    ]);
    assert.equal(total(hz100.profile), 40 * 10_000_000);
    const [hz50] = decodeUpload(uploadInput('groups', body, 'app.cpu', { sampleRate: 50 }));
    assert.equal(total(hz50.profile), 40 * 20_000_000);
    const [zero] = decodeUpload(uploadInput('groups', body, 'app.cpu', { sampleRate: 0 }));
    assert.deepEqual(profileTypeIds('process_cpu', zero.profile), ['process_cpu:samples:count::']);
    assert.equal(total(zero.profile), 40);
  });

  it('stores nothing for a legacy CPU upload whose period rounds to 0 (sampleRate above 1e9)', () => {
    assert.deepEqual(
      decodeUpload(
        uploadInput('groups', 'main;work 30\n', 'app.cpu', { sampleRate: 2_000_000_000 }),
      ),
      [],
    );
    // other types are not scaled: an allocation upload is stored whatever the rate
    const [alloc] = decodeUpload(
      uploadInput('groups', 'main;alloc 7\n', 'app.alloc_objects', { sampleRate: 0 }),
    );
    assert.equal(total(alloc.profile), 7);
  });

  it('drops the CPU series of a JFR upload with sampleRate=0 and keeps its other event types', () => {
    const jfr = gunzipSync(readFileSync(fixturePath('pyroscope', 'jfr', 'example.jfr.gz')));
    const names = (rate: number) =>
      decodeUpload(uploadInput('jfr', jfr, 'java', { sampleRate: rate }))
        .map((s) => s.labels.find((l) => l.name === '__name__')?.value)
        .sort();
    const at100 = names(100);
    const at0 = names(0);
    assert.ok(at100.includes('process_cpu'), at100.join());
    assert.ok(!at0.includes('process_cpu'), at0.join());
    assert.deepEqual(
      at0,
      at100.filter((n) => n !== 'process_cpu'),
    );
  });
});
