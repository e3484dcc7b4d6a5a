import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { goPprofForm, javaJfrForm, rawUpload } from '../../../test/support/agent-requests.js';
import { fixturePath } from '../../../test/support/paths.js';
import { startConformanceApp, type ConformanceApp } from './testing.js';

// Issue 15, items 1, 3 and 4: the label sets and profile types Grafana Pyroscope answers.
//   item 1: `pkg/phlaredb/labels/labels.go` CreateProfileLabels adds __service_name__,
//           __period_type__, __period_unit__, __type__, __unit__, __profile_type__;
//           `pkg/segmentwriter/memdb/head.go` Ingest deletes __delta__. Matchers see that set.
//   item 3: `pkg/model/labels.go` LabelsBuilder drops empty values.
//   item 4: `pkg/segmentwriter/memdb/head.go` stores no profile for a sample type whose samples
//           all compact away (all values zero).

const fixture = (...p: string[]): Buffer => readFileSync(fixturePath('pyroscope', ...p));
const ALL = { start: '1', end: '9999999999999' };

describe('Pyroscope label sets (issue 15: items 1, 3, 4)', () => {
  let app: ConformanceApp;
  before(async () => {
    app = await startConformanceApp();
    const jfr = javaJfrForm('kafka', fixture('jfr', 'cortex-dev-01__kafka-0__cpu__0.jfr.gz'));
    const r1 = await app.upload(jfr.path, jfr.query, jfr.headers, jfr.body);
    assert.equal(r1.status, 200, r1.text);
    const noEvent = javaJfrForm('noevent', fixture('jfr', 'object-allocation-sample.jfr.gz'));
    const r2 = await app.upload(noEvent.path, noEvent.query, noEvent.headers, noEvent.body);
    assert.equal(r2.status, 200, r2.text);
    const folded = rawUpload('emptyvals{a=,b=c}', undefined, Buffer.from('main;work 5\n'));
    const r3 = await app.upload(folded.path, folded.query, folded.headers, folded.body);
    assert.equal(r3.status, 200, r3.text);
    const heap = goPprofForm(
      'goheap',
      fixture('pprof', 'req_5.pprof'),
      fixture('pprof', 'req_5.st.json'),
    );
    const r4 = await app.upload(heap.path, heap.query, heap.headers, heap.body);
    assert.equal(r4.status, 200, r4.text);
    const dotnet = goPprofForm(
      'dotnetapp',
      fixture('pprof', 'dotnet-pprof-211.pb.gz'),
      fixture('pprof', 'dotnet-pprof-211.st.json'),
    );
    dotnet.query.spyName = 'dotnetspy';
    const r5 = await app.upload(dotnet.path, dotnet.query, dotnet.headers, dotnet.body);
    assert.equal(r5.status, 200, r5.text);
    for (const s of ['kafka', 'noevent', 'emptyvals', 'goheap', 'dotnetapp'])
      await app.waitForSeries(`{service_name="${s}"}`);
  });
  after(() => app.close());

  it('LabelNames of a JFR CPU series is the list Pyroscope answers (CreateProfileLabels, no __delta__)', async () => {
    const r = await app.query('LabelNames', { matchers: ['{service_name="kafka"}'], ...ALL });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.names, [
      '__name__',
      '__period_type__',
      '__period_unit__',
      '__profile_type__',
      '__service_name__',
      '__type__',
      '__unit__',
      'jfr_event',
      'pyroscope_spy',
      'service_name',
    ]);
  });

  it('Series of that series carries the derived values', async () => {
    const sets = await app.waitForSeries('{service_name="kafka"}');
    assert.deepEqual(sets, [
      {
        __name__: 'process_cpu',
        __period_type__: 'cpu',
        __period_unit__: 'nanoseconds',
        __profile_type__: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
        __service_name__: 'kafka',
        __type__: 'cpu',
        __unit__: 'nanoseconds',
        jfr_event: 'cpu',
        pyroscope_spy: 'javaspy',
        service_name: 'kafka',
      },
    ]);
  });

  it('matchers on __type__, __unit__, __period_type__ and __service_name__ select; __delta__ is gone', async () => {
    const total = async (labelSelector: string): Promise<number> => {
      const r = await app.query('SelectMergeStacktraces', {
        profileTypeID: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
        labelSelector,
        ...ALL,
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return Number((r.json.flamegraph as { total: string }).total);
    };
    // golden total of the recording: 478 samples × 10 ms
    assert.equal(await total('{__service_name__="kafka"}'), 4_780_000_000);
    assert.equal(
      await total(
        '{__type__="cpu", __unit__="nanoseconds", __period_type__="cpu", service_name="kafka"}',
      ),
      4_780_000_000,
    );
    assert.equal(await total('{__service_name__="kafka", __type__="samples"}'), 0);
    assert.equal(await total('{service_name="kafka", __delta__="false"}'), 0);
    const values = await app.query('LabelValues', { name: '__delta__', matchers: [], ...ALL });
    assert.deepEqual(values.json.names, []);
    const types = await app.query('LabelValues', {
      name: '__type__',
      matchers: ['{__service_name__=~"kafka|goheap"}'],
      ...ALL,
    });
    assert.deepEqual(types.json.names, ['alloc_objects', 'alloc_space', 'cpu']);
  });

  it('empty label values are dropped: name{a=,b=c} has b and no a', async () => {
    const r = await app.query('LabelNames', { matchers: ['{service_name="emptyvals"}'], ...ALL });
    const names = r.json.names as string[];
    assert.ok(names.includes('b'), JSON.stringify(names));
    assert.ok(!names.includes('a'), JSON.stringify(names));
    const sets = await app.waitForSeries('{service_name="emptyvals"}');
    for (const s of sets) for (const v of Object.values(s)) assert.notEqual(v, '');
  });

  it('a JFR recording without an event setting has no jfr_event=""', async () => {
    const r = await app.query('LabelNames', { matchers: ['{service_name="noevent"}'], ...ALL });
    assert.ok(!(r.json.names as string[]).includes('jfr_event'), JSON.stringify(r.json.names));
    const sets = await app.waitForSeries('{service_name="noevent"}');
    // one set per profile type: block (2), alloc_sample (2) and cpu (README: JP 3 profiles)
    assert.deepEqual(sets.map((s) => s.__profile_type__).sort(), [
      'block:contentions:count:block:count',
      'block:delay:nanoseconds:block:count',
      'memory:alloc_sample_bytes:bytes:space:bytes',
      'memory:alloc_sample_objects:count:space:bytes',
      'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
    ]);
    for (const s of sets) assert.equal(s.jfr_event, undefined);
  });

  it('all-zero sample types make no series: Go req_5 (heap) and .NET', async () => {
    const types = async (service: string): Promise<string[]> => {
      const r = await app.query('LabelValues', {
        name: '__profile_type__',
        matchers: [`{service_name="${service}"}`],
        ...ALL,
      });
      return r.json.names as string[];
    };
    assert.deepEqual(await types('goheap'), [
      'memory:alloc_objects:count:space:bytes',
      'memory:alloc_space:bytes:space:bytes',
    ]);
    assert.deepEqual(await types('dotnetapp'), [
      'process_cpu:alloc_samples:count::nanoseconds',
      'process_cpu:alloc_size:bytes::nanoseconds',
      'process_cpu:cpu:nanoseconds::nanoseconds',
    ]);
    // a period type of "" is no label (LabelsBuilder.Set of "" deletes), its unit stays
    const sets = await app.waitForSeries('{service_name="dotnetapp"}');
    for (const s of sets) {
      assert.equal(s.__period_type__, undefined);
      assert.equal(s.__period_unit__, 'nanoseconds');
    }
  });
});
