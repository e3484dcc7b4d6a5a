import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ProfileBuilder } from './profile-builder.js';
import {
  formatProfileTypeId,
  legacyProfileType,
  parseProfileTypeId,
  profileTypeIds,
} from './profile-type.js';
import { applyDefaultRelabelRules } from './relabel.js';

describe('profile types', () => {
  it('formats and parses IDs', () => {
    const id = 'memory:alloc_space:bytes:space:bytes';
    assert.equal(formatProfileTypeId(parseProfileTypeId(id)), id);
    assert.throws(() => parseProfileTypeId('a:b'), RangeError);
  });

  it('one ID per sample type, empty period parts when there is no period type', () => {
    const p = new ProfileBuilder()
      .sampleType('alloc_samples', 'count')
      .sampleType('cpu', 'nanoseconds')
      .build();
    assert.deepEqual(profileTypeIds('process_cpu', p), [
      'process_cpu:alloc_samples:count::',
      'process_cpu:cpu:nanoseconds::',
    ]);
  });

  it('applies the wall/cpu default rule per sample type', () => {
    const p = new ProfileBuilder()
      .sampleType('cpu', 'nanoseconds')
      .sampleType('wall', 'nanoseconds')
      .period('cpu', 'nanoseconds', 10)
      .build();
    assert.deepEqual(profileTypeIds('wall', p), [
      'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
      'wall:wall:nanoseconds:cpu:nanoseconds',
    ]);
  });

  it('maps legacy app-name suffixes', () => {
    assert.deepEqual(legacyProfileType('app'), {
      app: 'app',
      metric: 'process_cpu',
      sampleType: 'samples',
      sampleUnit: 'count',
    });
    assert.deepEqual(legacyProfileType('a.b.inuse_space'), {
      app: 'a.b',
      metric: 'memory',
      sampleType: 'inuse_space',
      sampleUnit: 'bytes',
    });
    assert.deepEqual(legacyProfileType('x.lock_duration'), {
      app: 'x',
      metric: 'block',
      sampleType: 'delay',
      sampleUnit: 'nanoseconds',
    });
    assert.deepEqual(legacyProfileType('x.goroutines')?.metric, 'goroutine');
    assert.equal(legacyProfileType('x.toString'), undefined);
    assert.equal(legacyProfileType('x.'), undefined);
  });

  it('godeltaprof relabel rule', () => {
    const out = applyDefaultRelabelRules([
      { name: '__name__', value: 'godeltaprof_mutex' },
      { name: '__delta__', value: 'true' },
    ]);
    const get = (n: string) => out.find((l) => l.name === n)?.value;
    assert.equal(get('__name__'), 'mutex');
    assert.equal(get('__delta__'), 'false');
    assert.equal(get('__name_replaced__'), 'godeltaprof_mutex');
    assert.deepEqual(applyDefaultRelabelRules([{ name: '__name__', value: 'memory' }]), [
      { name: '__name__', value: 'memory' },
    ]);
  });
});
