import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
import { goPprofForm, pushRequest } from '../../../test/support/agent-requests.js';
import { fixturePath } from '../../../test/support/paths.js';
import { startConformanceApp, type ConformanceApp } from './testing.js';

// Issue 15, item 6: a profile is a point in time. Pyroscope stores a profile at its
// `time_nanos` and every query selects profiles by that timestamp, start and end inclusive
// (`pkg/querybackend/query_profile_entry.go`: an IntBetween predicate on the TimeNanos column),
// never by a range up to the upload's `until` nor by the profile's duration.

const HEAP = 'memory:alloc_space:bytes:space:bytes';
const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
// heap.pb.gz: time_nanos 1640942110146179973 (2021-12-31T09:15:10.146Z), no duration
const HEAP_MS = 1640942110146;
const NOV_2023 = { start: String(Date.UTC(2023, 10, 1)), end: String(Date.UTC(2023, 10, 30)) };
// a CPU profile with a 10 s duration at T
const T = Date.UTC(2025, 5, 1, 12, 0, 0);

describe('Pyroscope profile time (issue 15: item 6)', () => {
  let app: ConformanceApp;
  before(async () => {
    app = await startConformanceApp();
    const heap = goPprofForm(
      'oldheap',
      readFileSync(fixturePath('pyroscope', 'pprof', 'heap.pb.gz')),
    );
    const r1 = await app.upload(heap.path, heap.query, heap.headers, heap.body);
    assert.equal(r1.status, 200, r1.text);
    const b = new ProfileBuilder()
      .sampleType('cpu', 'nanoseconds')
      .period('cpu', 'nanoseconds', 10_000_000);
    b.time(BigInt(T) * 1_000_000n, 10_000_000_000);
    b.stack(['main', 'work'], [70]);
    const push = pushRequest(
      { __name__: 'process_cpu', service_name: 'durations' },
      Buffer.from(encodePprof(b.build())),
      'proto',
      false,
    );
    const r2 = await app.upload(push.path, push.query, push.headers, push.body);
    assert.equal(r2.status, 200, r2.text);
    await app.waitForSeries('{service_name="oldheap"}');
    await app.waitForSeries('{service_name="durations"}');
  });
  after(() => app.close());

  const total = async (
    profileTypeID: string,
    service: string,
    w: { start: string; end: string },
  ): Promise<number> => {
    const r = await app.query('SelectMergeStacktraces', {
      profileTypeID,
      labelSelector: `{service_name="${service}"}`,
      ...w,
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return Number((r.json.flamegraph as { total: string }).total);
  };

  it('a 2021 heap profile is not returned for a November 2023 window (merge, series, listings)', async () => {
    assert.equal(await total(HEAP, 'oldheap', NOV_2023), 0);
    const series = await app.query('SelectSeries', {
      profileTypeID: HEAP,
      labelSelector: '{service_name="oldheap"}',
      step: 3600,
      ...NOV_2023,
    });
    assert.deepEqual(series.json.series, []);
    const names = await app.query('LabelValues', { name: 'service_name', ...NOV_2023 });
    assert.ok(!(names.json.names as string[]).includes('oldheap'));
  });

  it('it is returned at its time_nanos, both window ends inclusive', async () => {
    const at = { start: String(HEAP_MS), end: String(HEAP_MS) };
    assert.ok((await total(HEAP, 'oldheap', at)) > 0);
    assert.equal(
      await total(HEAP, 'oldheap', { start: String(HEAP_MS + 1), end: String(HEAP_MS + 3600_000) }),
      0,
    );
    assert.equal(
      await total(HEAP, 'oldheap', { start: String(HEAP_MS - 3600_000), end: String(HEAP_MS - 1) }),
      0,
    );
  });

  it('a profile with a duration is selected by its start, not by the range it covers', async () => {
    assert.equal(await total(CPU, 'durations', { start: String(T), end: String(T + 1) }), 70);
    // inside the profile's 10 s but after its timestamp: Pyroscope does not select it
    assert.equal(
      await total(CPU, 'durations', { start: String(T + 1), end: String(T + 5_000) }),
      0,
    );
  });

  it('SelectSeries puts the point at the step of the timestamp; Diff selects each side by time', async () => {
    const r = await app.query('SelectSeries', {
      profileTypeID: CPU,
      labelSelector: '{service_name="durations"}',
      step: 60,
      start: String(T - 600_000),
      end: String(T + 600_000),
    });
    const series = r.json.series as { points: { value: number; timestamp: string }[] }[];
    assert.equal(series.length, 1);
    assert.deepEqual(series[0].points, [{ value: 70, timestamp: String(T) }]);
    const side = (start: number, end: number) => ({
      profileTypeID: CPU,
      labelSelector: '{service_name="durations"}',
      start: String(start),
      end: String(end),
    });
    const d = await app.query('Diff', { left: side(T, T), right: side(T + 1, T + 10_000) });
    assert.equal(d.status, 200, JSON.stringify(d.json));
    const fg = d.json.flamegraph as { leftTicks: string; rightTicks: string };
    assert.equal(fg.leftTicks, '70');
    assert.equal(fg.rightTicks, '0');
  });

  it('GetProfileStats reports the profile times', async () => {
    const r = await app.query('GetProfileStats', {});
    assert.equal(r.json.oldestProfileTime, String(HEAP_MS));
    assert.equal(r.json.newestProfileTime, String(T));
  });
});
