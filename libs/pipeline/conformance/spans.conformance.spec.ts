import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
import { pushRequest } from '../../../test/support/agent-requests.js';
import { startConformanceApp, type ConformanceApp } from './testing.js';

// Issue 15, item 5: span ids are 16 hex digits (`pkg/pprof/pprof.go` decodeSpanID: a sample's
// `span_id` of another length or not hex is no span), and a span selector that is not such an
// id is refused with Go's message (`pkg/model/profile.go` NewSpanSelector).

const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const SPAN = '9a3f1c0e5b7d2a41';
const ALL = { start: '1', end: '9999999999999' };

describe('Pyroscope span ids (issue 15: item 5)', () => {
  let app: ConformanceApp;
  before(async () => {
    app = await startConformanceApp();
    const b = new ProfileBuilder()
      .sampleType('cpu', 'nanoseconds')
      .period('cpu', 'nanoseconds', 10_000_000);
    b.time(BigInt(Date.now() - 60_000) * 1_000_000n, 10_000_000_000);
    b.stack(['main', 'handler', 'db'], [30], [['span_id', SPAN]]);
    b.stack(['main', 'handler', 'json'], [10], [['span_id', '239']]);
    b.stack(['main', 'idle'], [5], [['span_id', 'zzzzzzzzzzzzzzzz']]);
    const req = pushRequest(
      { __name__: 'process_cpu', service_name: 'spans' },
      Buffer.from(encodePprof(b.build())),
      'json',
      false,
    );
    const r = await app.upload(req.path, req.query, req.headers, req.body);
    assert.equal(r.status, 200, r.text);
    await app.waitForSeries('{service_name="spans"}');
  });
  after(() => app.close());

  const spanProfile = (spanSelector: string[]) =>
    app.query('SelectMergeSpanProfile', {
      profileTypeID: CPU,
      labelSelector: '{service_name="spans"}',
      spanSelector,
      ...ALL,
    });

  it('only a 16-hex-digit span_id is a span: the selector of that span selects its samples alone', async () => {
    const r = await spanProfile([SPAN]);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const fg = r.json.flamegraph as { total: string; names: string[] };
    assert.equal(fg.total, '30');
    assert.ok(!fg.names.includes('json'));
    // ids are numbers in Pyroscope: upper case names the same span
    const upper = await spanProfile([SPAN.toUpperCase()]);
    assert.equal((upper.json.flamegraph as { total: string }).total, '30');
  });

  it('per-span heatmap counts one span, not "239" nor a 16-character non-hex id', async () => {
    const r = await app.query('SelectHeatmap', {
      profileTypeID: CPU,
      labelSelector: '{service_name="spans"}',
      queryType: 'HEATMAP_QUERY_TYPE_SPAN',
      ...ALL,
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const series = r.json.series as { slots: { counts: (string | number)[] }[] }[];
    const count = series
      .flatMap((s) => s.slots)
      .flatMap((s) => s.counts)
      .reduce<number>((a, c) => a + Number(c), 0);
    assert.equal(count, 1);
  });

  it('a selector that is not 16 bytes is refused: invalid span id length: "239"', async () => {
    const r = await spanProfile(['239']);
    assert.equal(r.status, 400);
    assert.equal(r.json.message, 'invalid span id length: "239"');
    assert.equal(r.json.code, 'invalid_argument');
    const merge = await app.query('SelectMergeStacktraces', {
      profileTypeID: CPU,
      labelSelector: '{service_name="spans"}',
      spanSelector: [SPAN, '239'],
      ...ALL,
    });
    assert.equal(merge.status, 400);
    assert.equal(merge.json.message, 'invalid span id length: "239"');
  });

  it("a 16-byte selector that is not hex is refused with hex.Decode's message", async () => {
    const r = await spanProfile(['zzzzzzzzzzzzzzzz']);
    assert.equal(r.status, 400);
    assert.equal(r.json.message, "encoding/hex: invalid byte: U+007A 'z'");
  });
});
