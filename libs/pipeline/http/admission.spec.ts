import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdmissionControl, Ticket, type Shed } from './admission.js';

const MiB = 1024 * 1024;
const limits = { maxInflightBytes: 10 * MiB, maxConcurrent: 4, maxWaitMs: 0, maxWaiting: 8 };

function isShed(v: Ticket | Shed): v is Shed {
  return !v.ok;
}

describe('AdmissionControl', () => {
  it('admits within the byte budget and the concurrency limit, and sheds past them with 503', () => {
    const a = new AdmissionControl(limits, { random: () => 0 });
    const t1 = a.tryAcquire('t', 6 * MiB);
    const t2 = a.tryAcquire('t', 4 * MiB);
    assert.ok(t1 instanceof Ticket && t2 instanceof Ticket);
    const shed = a.tryAcquire('t', 1);
    assert.ok(isShed(shed));
    assert.equal(shed.status, 503);
    assert.equal(shed.reason, 'process_full');
    assert.match(shed.message, /EMBER_INGEST_INFLIGHT_BYTES/);
    assert.ok(shed.retryAfterSeconds >= 1);
    t1.release();
    t1.release(); // twice is fine: nothing is given back twice
    assert.equal(a.stats().bytes, 4 * MiB);
    assert.ok(a.tryAcquire('t', 6 * MiB) instanceof Ticket);
    const b = new AdmissionControl({ ...limits, maxConcurrent: 1 });
    assert.ok(b.tryAcquire('t', 1) instanceof Ticket);
    assert.equal((b.tryAcquire('t', 1) as Shed).reason, 'process_full');
  });

  it('admits a request larger than the whole budget only when nothing else is in flight', () => {
    const a = new AdmissionControl(limits);
    const big = a.tryAcquire('t', 20 * MiB);
    assert.ok(big instanceof Ticket);
    assert.ok(isShed(a.tryAcquire('t', 1)));
    big.release();
    const small = a.tryAcquire('t', 1);
    assert.ok(small instanceof Ticket);
    assert.ok(isShed(a.tryAcquire('t', 20 * MiB)));
  });

  it('answers 429 to a tenant over its fair share when others compete, 503 to the others', () => {
    const a = new AdmissionControl(limits, { random: () => 0 });
    assert.ok(a.tryAcquire('hog', 5 * MiB) instanceof Ticket);
    assert.ok(a.tryAcquire('hog', 4 * MiB) instanceof Ticket);
    assert.ok(a.tryAcquire('small', 1 * MiB) instanceof Ticket);
    const hog = a.tryAcquire('hog', 1 * MiB) as Shed;
    assert.equal(hog.status, 429);
    assert.equal(hog.reason, 'tenant_over_share');
    assert.match(hog.message, /tenant hog holds 9437184 bytes/);
    const small = a.tryAcquire('small', 1 * MiB) as Shed;
    assert.equal(small.status, 503);
    // one tenant alone is never "over its share": the process is full
    const solo = new AdmissionControl(limits);
    solo.tryAcquire('only', 10 * MiB);
    assert.equal((solo.tryAcquire('only', 1) as Shed).status, 503);
  });

  it('sheds when the downstream has no room or the event loop is overloaded', () => {
    let room = 3 * MiB;
    let overloaded = false;
    const a = new AdmissionControl(limits, {
      downstreamRoom: () => room,
      overloaded: () => overloaded,
    });
    const t = a.tryAcquire('t', 2 * MiB) as Ticket;
    // in flight (2 MiB) + this one must fit downstream
    assert.equal((a.tryAcquire('t', 2 * MiB) as Shed).reason, 'downstream_full');
    room = 10 * MiB;
    overloaded = true;
    assert.equal((a.tryAcquire('t', 2 * MiB) as Shed).reason, 'event_loop_overloaded');
    overloaded = false;
    assert.ok(a.tryAcquire('t', 2 * MiB) instanceof Ticket);
    t.release();
  });

  it('holds profile uploads while the pipeline is behind past its limit, not OTLP requests', () => {
    let behind = 0;
    let admitted = 0;
    const a = new AdmissionControl(
      { ...limits, maxBacklogMs: 2_000 },
      { backlogSeconds: () => behind, random: () => 0, admittedProfile: () => admitted++ },
    );
    behind = 2;
    const within = a.tryAcquire('t', 1);
    assert.ok(within instanceof Ticket, 'exactly at the limit is within it');
    within.release();
    behind = 6.5;
    const shed = a.tryAcquire('t', 1) as Shed;
    assert.equal(shed.status, 503);
    assert.equal(shed.reason, 'pipeline_behind');
    assert.match(shed.message, /about 6\.5s of accepted uploads wait to be decoded and stored/);
    assert.match(shed.message, /EMBER_INGEST_MAX_BACKLOG \(2\.0s\)/);
    // back within the limit in about 4.5 s: Retry-After says so (no jitter with random() = 0)
    assert.equal(shed.retryAfterSeconds, 5);
    const otlp = a.tryAcquire('t', 1, 'otlp');
    assert.ok(otlp instanceof Ticket, 'traces, metrics and logs feed their own topics');
    otlp.release();
    assert.equal(admitted, 1, 'the backlog is told of admitted profile uploads only');
    // no limit: never held
    const unlimited = new AdmissionControl(
      { ...limits, maxBacklogMs: 0 },
      { backlogSeconds: () => 1e6 },
    );
    const t = unlimited.tryAcquire('t', 1);
    assert.ok(t instanceof Ticket);
    t.release();
  });

  it('lets a profile upload held by the backlog in once the pipeline catches up', async () => {
    let behind = 10;
    const a = new AdmissionControl(
      { ...limits, maxWaitMs: 5_000, maxBacklogMs: 2_000 },
      { backlogSeconds: () => behind },
    );
    const waiting = a.acquire('t', 1);
    assert.equal(a.stats().waiting, 1);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(a.stats().waiting, 1, 'still behind: still waiting');
    behind = 1;
    const ticket = await waiting;
    assert.ok(ticket instanceof Ticket);
    ticket.release();
    a.close();
  });

  it('holds an upload behind the backlog past the short wait, up to the backlog wait, and no other', async () => {
    let behind = 10;
    const a = new AdmissionControl(
      { ...limits, maxConcurrent: 1, maxWaitMs: 30, maxBacklogMs: 2_000, maxBacklogWaitMs: 400 },
      { backlogSeconds: () => behind, random: () => 0 },
    );
    const started = Date.now();
    const absorbed = a.acquire('t', 1);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(a.stats().waiting, 1, 'past the 30 ms wait, still held by the backlog alone');
    behind = 0;
    const ticket = await absorbed;
    assert.ok(ticket instanceof Ticket, 'admitted once the decoder caught up');
    // a full process is not the backlog: shed after the short wait although a backlog wait is set
    const t0 = Date.now();
    const full = (await a.acquire('t', 1)) as Shed;
    assert.equal(full.reason, 'process_full');
    assert.ok(Date.now() - t0 < 300, `process_full shed after ${Date.now() - t0} ms`);
    ticket.release();
    // still behind at the end of the backlog wait: 503 pipeline_behind
    behind = 10;
    const late = (await a.acquire('t', 1)) as Shed;
    assert.equal(late.reason, 'pipeline_behind');
    assert.ok(Date.now() - started >= 400);
    a.close();
  });

  it('lets a waiting request in when room frees, the tenant holding least first', async () => {
    const a = new AdmissionControl({ ...limits, maxWaitMs: 5_000, maxConcurrent: 2 });
    const busy1 = a.tryAcquire('busy', 1) as Ticket;
    const quiet = a.tryAcquire('quiet', 1) as Ticket;
    const order: string[] = [];
    const w1 = a.acquire('busy', 1).then((v) => (order.push('busy'), v));
    const w2 = a.acquire('quiet2', 1).then((v) => (order.push('quiet2'), v));
    assert.equal(a.stats().waiting, 2);
    // busy still holds a request: the freed slot goes to quiet2, which holds nothing
    quiet.release();
    const first = await Promise.race([w1, w2]);
    assert.ok(first instanceof Ticket);
    assert.deepEqual(order, ['quiet2']);
    busy1.release();
    assert.ok((await w1) instanceof Ticket);
    assert.deepEqual(order, ['quiet2', 'busy']);
    a.close();
  });

  it('sheds a waiter after the wait, at once when the waiting room is full, and on abort', async () => {
    const a = new AdmissionControl({ ...limits, maxConcurrent: 1, maxWaitMs: 30, maxWaiting: 1 });
    const held = a.tryAcquire('t', 1) as Ticket;
    const waiting = a.acquire('t', 1);
    const full = (await a.acquire('t', 1)) as Shed;
    assert.equal(full.reason, 'waiting_room_full');
    const timedOut = (await waiting) as Shed;
    assert.equal(timedOut.status, 503);
    const ac = new AbortController();
    const abandoned = a.acquire('t', 1, ac.signal);
    ac.abort();
    assert.ok(isShed(await abandoned));
    assert.equal(a.stats().waiting, 0);
    held.release();
    assert.equal(a.stats().requests, 0);
  });

  it('grows a ticket for a chunked body while the budget has room', () => {
    const a = new AdmissionControl(limits);
    const t = a.tryAcquire('t', 1 * MiB) as Ticket;
    assert.equal(t.grow(8 * MiB), true);
    assert.equal(t.bytes, 9 * MiB);
    assert.equal(t.grow(2 * MiB), false);
    assert.equal(t.bytes, 9 * MiB);
    t.release();
    assert.deepEqual(a.stats(), { bytes: 0, requests: 0, waiting: 0, tenants: 0 });
  });

  it('grows a declared size (a gRPC message) past the whole budget only when the request is alone', () => {
    const a = new AdmissionControl(limits);
    const t = a.tryAcquire('t', 1 * MiB) as Ticket;
    assert.equal(t.grow(19 * MiB), false, 'a guess (chunked) never outgrows the budget');
    assert.equal(t.grow(19 * MiB, true), true, 'alone, a declared size may, as a Content-Length');
    assert.equal(t.bytes, 20 * MiB);
    t.release();
    const other = a.tryAcquire('u', 1 * MiB) as Ticket;
    const u = a.tryAcquire('t', 1 * MiB) as Ticket;
    assert.equal(u.grow(19 * MiB, true), false, 'not alone: the budget holds');
    assert.equal(u.bytes, 1 * MiB);
    other.release();
    u.release();
    assert.deepEqual(a.stats(), { bytes: 0, requests: 0, waiting: 0, tenants: 0 });
  });

  it('estimates Retry-After from the drain rate, with jitter, within 1-45 s', () => {
    let now = 0;
    const a = new AdmissionControl(
      { ...limits, maxInflightBytes: 100 * MiB, maxConcurrent: 1000 },
      { now: () => now, random: () => 0.99 },
    );
    // 10 MiB drained per second
    for (let s = 0; s < 3; s++) {
      const t = a.tryAcquire('t', 10 * MiB) as Ticket;
      now += 1000;
      t.release();
    }
    const held = Array.from({ length: 9 }, () => a.tryAcquire('t', 10 * MiB) as Ticket);
    const shed = a.tryAcquire('t', 20 * MiB) as Shed;
    // 110 MiB ahead at 10 MiB/s: 11 s, plus up to half again
    assert.ok(
      shed.retryAfterSeconds >= 11 && shed.retryAfterSeconds <= 17,
      String(shed.retryAfterSeconds),
    );
    held.forEach((t) => t.release());
  });
});
