import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GroupBacklog } from '../../queue/index.js';
import { PipelineBacklog } from './pipeline-backlog.js';

/** A broker whose groups' positions the test sets; `down` makes every read fail. */
function fakeBroker() {
  const groups = new Map<string, GroupBacklog>();
  const reads: string[] = [];
  let down = false;
  return {
    groups,
    reads,
    setDown: (v: boolean) => (down = v),
    groupBacklog: async (groupId: string, topic: string): Promise<GroupBacklog> => {
      reads.push(`${groupId}@${topic}`);
      if (down) throw new Error('broker away');
      return groups.get(groupId) ?? { lag: 0, consumed: 0 };
    },
  };
}

const stages = [
  { name: 'decoder', groupId: 'dec', topic: 'raw' },
  { name: 'exporter', groupId: 'exp', topic: 'norm' },
];

describe('PipelineBacklog', () => {
  it('adds up the seconds behind every stage, read from the consumer groups', async () => {
    const broker = fakeBroker();
    let now = 0;
    const b = new PipelineBacklog(broker, stages, { now: () => now });
    for (let i = 0; i <= 4; i++) {
      now = i * 500;
      // decoder: 100 per 500 ms (200/s), 300 behind = 1.5 s; exporter: 50 per 500 ms, 100 behind = 1 s
      broker.groups.set('dec', { lag: 300, consumed: i * 100 });
      broker.groups.set('exp', { lag: 100, consumed: i * 50 });
      await b.poll();
    }
    assert.deepEqual(b.snapshot(), [
      { stage: 'decoder', seconds: 1.5, lag: 300 },
      { stage: 'exporter', seconds: 1, lag: 100 },
    ]);
    assert.equal(b.seconds(), 2.5);
    assert.ok(broker.reads.includes('dec@raw') && broker.reads.includes('exp@norm'));
  });

  it('counts what this process admitted since the last reading into the entry stage', async () => {
    const broker = fakeBroker();
    let now = 0;
    const b = new PipelineBacklog(broker, [{ ...stages[0], entry: true }, stages[1]], {
      now: () => now,
    });
    for (let i = 0; i <= 2; i++) {
      now = i * 500;
      broker.groups.set('dec', { lag: 100, consumed: i * 100 });
      broker.groups.set('exp', { lag: 0, consumed: 0 });
      await b.poll();
    }
    assert.equal(b.seconds(), 0.5);
    // 300 admitted before the next reading: 400 behind at 200/s
    for (let i = 0; i < 300; i++) b.noteAdmitted();
    assert.deepEqual(b.snapshot(), [
      { stage: 'decoder', seconds: 2, lag: 400 },
      { stage: 'exporter', seconds: 0, lag: 0 },
    ]);
    // the next reading has them: they count once
    now = 1_500;
    broker.groups.set('dec', { lag: 350, consumed: 300 });
    await b.poll();
    assert.equal(b.snapshot()[0].lag, 350);
  });

  it('keeps the last estimate through a failed read, then counts it unknown once stale', async () => {
    const broker = fakeBroker();
    let now = 0;
    const errors: string[] = [];
    const b = new PipelineBacklog(broker, stages.slice(0, 1), {
      now: () => now,
      onError: (stage, err) => errors.push(`${stage}: ${(err as Error).message}`),
    });
    for (let i = 0; i <= 2; i++) {
      now = i * 500;
      broker.groups.set('dec', { lag: 400, consumed: i * 100 });
      await b.poll();
    }
    assert.equal(b.seconds(), 2);
    broker.setDown(true);
    now = 3_000;
    await b.poll();
    assert.deepEqual(errors, ['decoder: broker away']);
    assert.equal(b.seconds(), 2, 'a read that failed a moment ago leaves the estimate standing');
    now = 7_000;
    await b.poll();
    assert.equal(b.seconds(), 0, 'stale: not shed on');
    assert.deepEqual(b.snapshot(), [{ stage: 'decoder', seconds: null, lag: null }]);
  });

  it('polls until closed; start is safe to call twice', async () => {
    const broker = fakeBroker();
    const b = new PipelineBacklog(broker, stages.slice(0, 1));
    b.start();
    b.start();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(broker.reads.length, 1, 'one loop, one read so far');
    b.close();
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(broker.reads.length, 1, 'no read after close');
  });
});
