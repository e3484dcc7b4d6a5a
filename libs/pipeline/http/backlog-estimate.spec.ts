import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BacklogEstimate, WINDOW_MS } from './backlog-estimate.js';

describe('BacklogEstimate', () => {
  it('is unknown before a reading and zero with nothing behind', () => {
    const e = new BacklogEstimate();
    assert.equal(e.seconds(), null);
    assert.equal(e.lag(), null);
    e.observe(1_000, 0, 50);
    assert.equal(e.seconds(), 0);
    assert.equal(e.lag(), 0);
  });

  it('divides the work behind by the rate the group drains it', () => {
    const e = new BacklogEstimate();
    // 100 messages every 500 ms = 200/s, 400 behind = 2 s
    for (let i = 0; i <= 6; i++) e.observe(i * 500, 400, i * 100);
    assert.equal(e.rate(), 200);
    assert.equal(e.seconds(), 2);
  });

  it('leaves idle time out of the rate: a burst after a quiet spell is not many seconds', () => {
    const e = new BacklogEstimate();
    // idle for 8 s: nothing behind, nothing consumed
    for (let t = 0; t <= 8_000; t += 500) e.observe(t, 0, 1_000);
    // a burst: 1,000 behind, the group drains 100 in the next 500 ms
    e.observe(8_500, 1_000, 1_000);
    e.observe(9_000, 900, 1_100);
    assert.equal(e.rate(), 200);
    assert.equal(e.seconds(), 4.5);
  });

  it('averages a group that commits in large batches over the window', () => {
    const e = new BacklogEstimate();
    // 30 messages committed every 3 s, 60 behind all along: 10/s, 6 s
    for (let t = 0; t <= 9_000; t += 500) e.observe(t, 60, Math.floor(t / 3_000) * 30);
    assert.equal(e.rate(), 10);
    assert.equal(e.seconds(), 6);
  });

  it('is unknown for a group behind that drained nothing over the whole window (stopped)', () => {
    const e = new BacklogEstimate();
    for (let t = 0; t <= 4_000; t += 500) e.observe(t, 100, t / 10);
    assert.ok(e.seconds()! > 0);
    // the consumer stops at 4 s: the lag grows, nothing is consumed any more
    for (let t = 4_500; t <= 4_000 + WINDOW_MS - 1_000; t += 500) e.observe(t, 100 + t / 10, 400);
    assert.ok(e.seconds() !== null, 'within the window the last progress still counts');
    for (let t = 4_000 + WINDOW_MS - 500; t <= 4_000 + WINDOW_MS + 500; t += 500)
      e.observe(t, 2_000, 400);
    assert.equal(e.seconds(), null);
    assert.equal(e.lag(), 2_000);
  });

  it('starts over when the group positions move back (offsets reset)', () => {
    const e = new BacklogEstimate();
    for (let i = 0; i <= 4; i++) e.observe(i * 500, 100, 10_000 + i * 100);
    assert.equal(e.rate(), 200);
    e.observe(2_500, 100, 0);
    assert.equal(e.rate(), null);
    assert.equal(e.seconds(), null);
    e.observe(3_000, 50, 50);
    assert.equal(e.rate(), 100);
  });
});
