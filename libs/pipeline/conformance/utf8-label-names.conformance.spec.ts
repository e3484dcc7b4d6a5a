import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawUpload } from '../../../test/support/agent-requests.js';
import { startConformanceApp, type ConformanceApp } from './testing.js';

// Issue 15, item 2: dotted label names (what the Node.js agent sends) are stored and matchable,
// but LabelNames and Series show them only to a client whose Accept carries
// `allow-utf8-labelnames=true` (`pkg/featureflags/client_capability.go`,
// `pkg/frontend/readpath/queryfrontend/query_label_names.go`, `query_series_labels.go`);
// selectors take Prometheus' quoted UTF-8 names, `{"otel.scope.name"="x"}`
// (`pkg/model/labels.go` ParseMetricSelector, Prometheus' parser).

const ALL = { start: '1', end: '9999999999999' };
const UTF8 = { accept: 'application/json; allow-utf8-labelnames=true' };
const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

describe('Pyroscope UTF-8 label names (issue 15: item 2)', () => {
  let app: ConformanceApp;
  before(async () => {
    app = await startConformanceApp();
    const up = rawUpload(
      'nodeapp{otel.scope.name=pyroscope-nodejs,process.runtime.name=nodejs,env=dev}',
      undefined,
      Buffer.from('main;work 7\n'),
    );
    const r = await app.upload(up.path, up.query, up.headers, up.body);
    assert.equal(r.status, 200, r.text);
    await app.waitForSeries('{service_name="nodeapp"}');
  });
  after(() => app.close());

  const labelNames = async (headers: Record<string, string> = {}): Promise<string[]> => {
    const r = await app.query(
      'LabelNames',
      { matchers: ['{service_name="nodeapp"}'], ...ALL },
      headers,
    );
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json.names as string[];
  };

  it('LabelNames hides dotted names unless Accept allows UTF-8 label names', async () => {
    const legacy = await labelNames();
    assert.ok(legacy.includes('env'));
    assert.ok(!legacy.includes('otel.scope.name'), JSON.stringify(legacy));
    assert.ok(!legacy.includes('process.runtime.name'));
    const utf8 = await labelNames(UTF8);
    assert.ok(utf8.includes('otel.scope.name'), JSON.stringify(utf8));
    assert.ok(utf8.includes('process.runtime.name'));
    // the capability on any media range of a list counts
    assert.ok(
      (await labelNames({ accept: 'text/plain, */*;allow-utf8-labelnames=true' })).includes(
        'otel.scope.name',
      ),
    );
    assert.ok(
      !(await labelNames({ accept: '*/*;allow-utf8-labelnames=false' })).includes(
        'otel.scope.name',
      ),
    );
  });

  it('Series shows them under the same rule', async () => {
    const series = async (headers: Record<string, string>) => {
      const r = await app.query(
        'Series',
        { matchers: ['{service_name="nodeapp"}'], ...ALL },
        headers,
      );
      const sets = r.json.labelsSet as { labels: { name: string; value: string }[] }[];
      return sets.flatMap((s) => s.labels.map((l) => l.name));
    };
    assert.ok(!(await series({})).includes('otel.scope.name'));
    assert.ok((await series(UTF8)).includes('otel.scope.name'));
  });

  it('quoted UTF-8 matchers select whatever Accept says; LabelValues answers the name', async () => {
    const total = async (labelSelector: string): Promise<number> => {
      const r = await app.query('SelectMergeStacktraces', {
        profileTypeID: CPU,
        labelSelector,
        ...ALL,
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return Number((r.json.flamegraph as { total: string }).total);
    };
    assert.equal(await total('{"otel.scope.name"="pyroscope-nodejs"}'), 70_000_000);
    assert.equal(await total('{"otel.scope.name"="other", service_name="nodeapp"}'), 0);
    assert.equal(await total('{"process.runtime.name"=~"node.*", "process_cpu"}'), 70_000_000);
    const v = await app.query('LabelValues', { name: 'otel.scope.name', matchers: [], ...ALL });
    assert.deepEqual(v.json.names, ['pyroscope-nodejs']);
  });

  it('an Accept header that does not parse is refused (400), as the middleware does', async () => {
    const r = await app.query('LabelNames', { ...ALL }, { accept: 'application/json,,*/*' });
    assert.equal(r.status, 400);
    assert.equal(r.json.message, 'Invalid header format: mime: no media type');
  });
});
