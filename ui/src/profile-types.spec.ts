import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProfileType } from './api.js';
import { defaultProfileType } from './profile-types.js';

const type = (id: string): ProfileType => {
  const [name, sampleType, sampleUnit, periodType, periodUnit] = id.split(':');
  return { ID: id, name, sampleType, sampleUnit, periodType, periodUnit };
};

describe('the profile type a service opens with', () => {
  it('Node.js wall: wall time, not the sample count listed first', () => {
    const t = defaultProfileType([
      type('wall:samples:count:wall:microseconds'),
      type('wall:wall:microseconds:wall:microseconds'),
    ]);
    assert.equal(t?.ID, 'wall:wall:microseconds:wall:microseconds');
  });

  it('CPU time before wall time, time before bytes, bytes before counts', () => {
    const cpu = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
    const all = [
      'goroutine:goroutine:count:goroutine:count',
      'memory:inuse_objects:count:space:bytes',
      'memory:inuse_space:bytes:space:bytes',
      'process_cpu:samples:count:cpu:nanoseconds',
      'wall:wall:microseconds:wall:microseconds',
      cpu,
    ].map(type);
    assert.equal(defaultProfileType(all)?.ID, cpu);
    assert.equal(
      defaultProfileType(all.filter((t) => t.ID !== cpu))?.ID,
      'wall:wall:microseconds:wall:microseconds',
    );
    assert.equal(
      defaultProfileType(all.filter((t) => !/nanoseconds|microseconds/.test(t.sampleUnit)))?.ID,
      'memory:inuse_space:bytes:space:bytes',
    );
    assert.equal(
      defaultProfileType([
        type('mutex:contentions:count:contentions:count'),
        type('mutex:delay:nanoseconds:contentions:count'),
      ])?.ID,
      'mutex:delay:nanoseconds:contentions:count',
    );
    assert.equal(defaultProfileType([]), undefined);
  });
});
