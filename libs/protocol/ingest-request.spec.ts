import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from './errors.js';
import {
  bodyTooLargeError,
  parseGoQuery,
  parseIngestRequest,
  parseSampleRate,
  resolveUploadFormat,
} from './ingest-request.js';

const NOW = 1_700_000_000_000_000_000n;

function req(query: string, contentType?: string) {
  return parseIngestRequest({ query: new URLSearchParams(query), contentType, now: NOW });
}

describe('parseIngestRequest: parameters and defaults (§1.1)', () => {
  it('applies every default', () => {
    const { params, format } = req('name=app');
    assert.deepEqual(params, {
      name: 'app',
      appName: 'app',
      labels: {},
      fromNanos: NOW.toString(),
      untilNanos: NOW.toString(),
      sampleRate: 100,
      spyName: 'unknown',
      units: 'samples',
      aggregationType: 'sum',
      formatParam: '',
    });
    assert.equal(format, 'groups');
  });

  it('reads the Go SDK request of the go-mutex fixture', () => {
    const q =
      'aggregationType=&from=1694142280000000000&name=myapp%7B__session_id__%3D3e8c7a0f1d2b4c5a%2Cotel.scope.name%3Dcom.grafana.pyroscope%2Fgodeltaprof%7D&sampleRate=0&spyName=gospy&units=&until=1694142290000000000';
    const { params, format } = req(
      q,
      'multipart/form-data; boundary=5f0e3a8c1d2b4a697788990011223344556677889900aabbccddeeff0011',
    );
    assert.equal(format, 'pprof-form');
    assert.equal(params.appName, 'myapp');
    assert.deepEqual(params.labels, {
      __session_id__: '3e8c7a0f1d2b4c5a',
      'otel.scope.name': 'com.grafana.pyroscope/godeltaprof',
    });
    assert.equal(params.fromNanos, '1694142280000000000');
    assert.equal(params.untilNanos, '1694142290000000000');
    assert.equal(params.sampleRate, 0); // 0 is accepted: no scaling
    assert.equal(params.spyName, 'gospy');
    assert.equal(params.units, 'samples'); // empty → default
    assert.equal(params.aggregationType, 'sum');
  });

  it('reads the Java agent request of the JFR fixture', () => {
    const q =
      'name=myapp%7Botel.scope.name%3Dcom.grafana.pyroscope%2Fjava%2Cprocess.runtime.name%3DOpenJDK+Runtime+Environment%7D&units=samples&aggregationType=sum&from=1692095722&until=1692095730&spyName=javaspy&sampleRate=100&format=jfr';
    const { params, format } = req(
      q,
      'multipart/form-data; boundary=3c9b8a1e-6f2d-4e57-9a0b-1c2d3e4f5a6b',
    );
    assert.equal(format, 'jfr-form');
    assert.equal(params.labels['process.runtime.name'], 'OpenJDK Runtime Environment');
    assert.equal(params.fromNanos, '1692095722000000000');
    assert.equal(params.untilNanos, '1692095730000000000');
    assert.equal(params.formatParam, 'jfr');
  });

  it('first value wins', () => {
    assert.equal(req('name=a&name=b').params.appName, 'a');
  });

  it('a bad name is 400 with the `name: ` prefix', () => {
    for (const [q, msg] of [
      ['', 'name: service name is required'],
      ['name=', 'name: service name is required'],
      ['name=my%20app', "name: invalid service name: my app: character is not allowed: ' '"],
      ['name=app%7Ba-b%3D1%7D', "name: invalid label name: a-b: character is not allowed: '-'"],
    ]) {
      assert.throws(
        () => req(q),
        (e: unknown) =>
          e instanceof ProtocolError &&
          e.status === 400 &&
          e.reason === 'invalid_labels' &&
          e.message === msg,
        q,
      );
    }
  });
});

describe('parseSampleRate', () => {
  const cases: [string, number][] = [
    ['', 100],
    ['100', 100],
    ['0', 0],
    ['+7', 7],
    ['-0', 0],
    ['-1', 100],
    ['abc', 100],
    ['1.5', 100],
    [' 5', 100],
    ['0x10', 100],
    ['4294967296', 0], // uint32 conversion, as Go
    ['4294967396', 100],
    ['99999999999999999999', 100], // out of int64 range
  ];
  for (const [raw, want] of cases)
    it(JSON.stringify(raw), () => assert.equal(parseSampleRate(raw), want));
});

describe('resolveUploadFormat: dispatch order of §1.4', () => {
  const cases: [string, string, string][] = [
    ['trie', '', 'trie'],
    ['', 'binary/octet-stream+trie', 'trie'],
    ['tree', '', 'tree'],
    ['', 'binary/octet-stream+tree', 'tree'],
    ['lines', 'binary/octet-stream+trie', 'trie'], // trie/tree content types win over format=lines
    ['lines', '', 'lines'],
    ['jfr', '', 'jfr'],
    ['jfr', 'application/octet-stream', 'jfr'],
    ['jfr', 'multipart/form-data; boundary=x', 'jfr-form'],
    ['pprof', 'multipart/form-data; boundary=x', 'pprof'], // never multipart with format=pprof
    ['pprof', '', 'pprof'],
    ['speedscope', 'multipart/form-data; boundary=x', 'speedscope'],
    ['', 'multipart/form-data; boundary=x', 'pprof-form'],
    ['folded', 'multipart/form-data; boundary=x', 'pprof-form'], // unknown format ignored
    ['groups', '', 'groups'],
    ['', 'text/plain', 'groups'],
    ['', 'Multipart/Form-Data; boundary=x', 'groups'], // case-sensitive, as Go's strings.Contains
    ['', 'Binary/octet-stream+trie', 'groups'],
    ['PPROF', '', 'groups'],
  ];
  for (const [fmt, ct, want] of cases) {
    it(`format=${fmt} content-type=${ct}`, () => assert.equal(resolveUploadFormat(fmt, ct), want));
  }
});

describe('parseGoQuery', () => {
  it('drops pairs with `;` or bad escapes, as Go does', () => {
    const q = parseGoQuery('name=app;x&from=1%zz&until=5&name=second&spyName=a+b%21');
    assert.equal(q.get('name'), 'second');
    assert.equal(q.get('from'), null);
    assert.equal(q.get('until'), '5');
    assert.equal(q.get('spyName'), 'a b!');
    assert.deepEqual(q.getAll('name'), ['second']);
  });
  it('feeds parseIngestRequest', () => {
    const r = parseIngestRequest({
      query: parseGoQuery('name=app%7Bk%3Dv%7D&from=now-1h'),
      now: NOW,
    });
    assert.deepEqual(r.params.labels, { k: 'v' });
    assert.equal(r.params.fromNanos, (NOW - 3_600_000_000_000n).toString());
  });
});

describe('bodyTooLargeError', () => {
  it('is 413 with Pyroscope message and reason', () => {
    const e = bodyTooLargeError();
    assert.equal(e.status, 413);
    assert.equal(e.reason, 'body_size_limit_exceeded');
    assert.equal(e.message, 'request body too large: http: request body too large');
  });
});
