import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fixturePath } from '../../test/support/paths.js';
import fc from 'fast-check';
import { isProtocolError, ProtocolError } from './errors.js';
import { decompressJfrPart, readJfrForm } from './jfr-form.js';
import { readPprofForm } from './pprof-form.js';
import { JsonError, parseSampleTypeConfig } from './sample-type-config.js';

const fx = (name: string) => readFileSync(fixturePath('pyroscope', name));
const GO_CT =
  'multipart/form-data; boundary=5f0e3a8c1d2b4a697788990011223344556677889900aabbccddeeff0011';
const JAVA_CT = 'multipart/form-data; boundary=3c9b8a1e-6f2d-4e57-9a0b-1c2d3e4f5a6b';

function form(parts: [name: string, data: string | Buffer][], boundary = 'B'): Buffer {
  const chunks: Buffer[] = [];
  for (const [name, data] of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\n\r\n`,
      ),
    );
    chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

function rejects422(fn: () => unknown, message: string, reason = 'malformed_profile'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal(e.message, message);
    assert.equal(e.status, 422);
    assert.equal(e.reason, reason);
    return true;
  });
}

const PPROF_PREFIX =
  'parsing IngestInput-pprof failed failed to parse pprof /ingest multipart form ';

describe('readPprofForm (§1.5.1)', () => {
  it('go-mutex fixture: profile bytes and the mutex sample_type_config', () => {
    const f = readPprofForm(fx('multipart/go-mutex.multipart.bin'), GO_CT);
    assert.deepEqual(f.profile, fx('pprof/req_4.pprof'));
    assert.deepEqual(
      f.sampleTypeConfig,
      new Map([
        ['contentions', { units: 'lock_samples', displayName: 'mutex_count' }],
        ['delay', { units: 'lock_nanoseconds', displayName: 'mutex_duration' }],
      ]),
    );
  });
  it('without a profile part the form is accepted and empty (Pyroscope answers 200)', () => {
    assert.deepEqual(readPprofForm(form([['other', 'x']]), 'multipart/form-data; boundary=B'), {
      profile: undefined,
      sampleTypeConfig: undefined,
    });
  });
  it('prev_profile is rejected with 422 and Pyroscope’s message', () => {
    const body = form([
      ['profile', fx('pprof/cpu.pb.gz')],
      ['prev_profile', fx('pprof/cpu.pb.gz')],
    ]);
    rejects422(
      () => readPprofForm(body, 'multipart/form-data; boundary=B'),
      PPROF_PREFIX +
        'unsupported client version. Please update github.com/grafana/pyroscope-go to the latest version',
    );
    // an empty prev_profile counts as absent
    const ok = readPprofForm(
      form([
        ['profile', 'p'],
        ['prev_profile', ''],
      ]),
      'multipart/form-data; boundary=B',
    );
    assert.equal(ok.profile?.toString(), 'p');
  });
  it('envelope errors carry the handler prefixes', () => {
    rejects422(
      () => readPprofForm(Buffer.alloc(0), 'multipart/form-data'),
      PPROF_PREFIX + 'malformed multipart content type header',
    );
    rejects422(
      () => readPprofForm(Buffer.from('junk'), 'multipart/form-data; boundary=B'),
      PPROF_PREFIX + 'multipart: NextPart: EOF',
    );
    rejects422(
      () =>
        readPprofForm(
          form([['sample_type_config', '{"cpu":{"units":1}}']]),
          'multipart/form-data; boundary=B',
        ),
      PPROF_PREFIX +
        'json: cannot unmarshal number into Go struct field SampleTypeConfig.units of type metadata.Units',
    );
  });
});

describe('readJfrForm (§1.5.2)', () => {
  it('java fixture: jfr and labels parts as sent', () => {
    const f = readJfrForm(fx('multipart/java-jfr-itimer-with-labels.multipart.bin'), JAVA_CT);
    assert.deepEqual(f.jfr, fx('jfr/dump1.jfr.gz'));
    assert.deepEqual(f.labels, fx('jfr/dump1.labels.pb.gz'));
  });
  it('a missing jfr part is `jfr field is required` (422)', () => {
    rejects422(
      () => readJfrForm(form([['labels', 'x']]), 'multipart/form-data; boundary=B'),
      'parsing IngestInput-pprof failed jfr field is required',
    );
  });
  it('labels are optional', () => {
    assert.equal(
      readJfrForm(form([['jfr', 'J']]), 'multipart/form-data; boundary=B').labels,
      undefined,
    );
  });
});

describe('decompressJfrPart', () => {
  it('inflates the fixture parts, passes raw bytes through', () => {
    const jfr = decompressJfrPart(fx('jfr/dump1.jfr.gz'), 4 << 20, 'jfr');
    assert.equal(Buffer.from(jfr.subarray(0, 4)).toString('latin1'), 'FLR\0');
    const raw = Buffer.from('FLR\0rest');
    assert.equal(decompressJfrPart(raw, 4 << 20, 'jfr'), raw);
  });
  it('errors are Pyroscope’s', () => {
    const prefix = 'parsing IngestInput-pprof failed loadJFRFromForm failed to decompress ';
    rejects422(
      () => decompressJfrPart(Buffer.from([1]), 0, 'labels'),
      prefix + 'labels: failed to read magic',
    );
    rejects422(
      () => decompressJfrPart(gzipSync(Buffer.alloc(2000)), 1000, 'jfr'),
      prefix + 'jfr: decompressed size exceeds maximum allowed size of 1000 bytes',
      'profile_size_limit',
    );
    rejects422(
      () => decompressJfrPart(Buffer.from([0x1f, 0x8b, 8, 0]), 0, 'jfr'),
      prefix + 'jfr: failed to read gzip header: unexpected EOF',
    );
  });
});

describe('parseSampleTypeConfig (§1.5.1)', () => {
  it('reads every fixture config', () => {
    assert.deepEqual(
      parseSampleTypeConfig(fx('pprof/req_2.st.json')),
      new Map([
        ['goroutine', { units: 'goroutines', aggregation: 'average', displayName: 'goroutines' }],
      ]),
    );
    assert.deepEqual(parseSampleTypeConfig(fx('pprof/req_3.st.json'))?.get('delay'), {
      units: 'lock_nanoseconds',
      displayName: 'block_duration',
    });
    assert.deepEqual(parseSampleTypeConfig(fx('pprof/req_5.st.json'))?.get('inuse_space'), {
      units: 'bytes',
      aggregation: 'average',
    });
    const dotnet = parseSampleTypeConfig(fx('pprof/dotnet-pprof-211.st.json'));
    assert.ok(dotnet !== undefined && dotnet.size > 0);
  });
  it('follows encoding/json: case-insensitive names, unknown ignored, null, booleans', () => {
    assert.deepEqual(
      parseSampleTypeConfig(
        '{"a":{"Display-Name":"x","CUMULATIVE":true,"other":5,"units":null},"b":null}',
      ),
      new Map<string, unknown>([
        ['a', { displayName: 'x', cumulative: true }],
        ['b', null],
      ]),
    );
    assert.equal(parseSampleTypeConfig('null'), undefined);
    assert.deepEqual(parseSampleTypeConfig('{"a":{"units":"x","units":"y"}}')?.get('a'), {
      units: 'y',
    });
  });
  const errors: [string, string][] = [
    ['', 'unexpected end of JSON input'],
    ['{', 'unexpected end of JSON input'],
    ['[]', 'json: cannot unmarshal array into Go value of type map[string]*tree.SampleTypeConfig'],
    ['{"a":1}', 'json: cannot unmarshal number into Go value of type tree.SampleTypeConfig'],
    [
      '{"a":{"sampled":"true"}}',
      'json: cannot unmarshal string into Go struct field SampleTypeConfig.sampled of type bool',
    ],
    [
      '{"a":{"aggregation":true}}',
      'json: cannot unmarshal bool into Go struct field SampleTypeConfig.aggregation of type metadata.AggregationType',
    ],
    ['{"a":{}} x', "invalid character 'x' after top-level value"],
    ['{a:1}', "invalid character 'a' looking for beginning of object key string"],
    ['tru', "invalid character ' ' in literal true (expecting 'e')"],
    ['-', "invalid character ' ' in numeric literal"],
    ['{"a":{"units":"\\q"}}', "invalid character 'q' in string escape code"],
  ];
  for (const [input, message] of errors) {
    it(`rejects ${JSON.stringify(input)}`, () =>
      assert.throws(
        () => parseSampleTypeConfig(input),
        (e: unknown) => e instanceof JsonError && e.message === message,
      ));
  }
});

describe('forms and config: properties', () => {
  it('sample_type_config: any text fails only with JsonError', () => {
    const tokens = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      '"a"',
      '"units"',
      '"Display-Name"',
      'true',
      'null',
      '1',
      '-',
      'e',
      '"\\u00e9"',
      '"\\q"',
      ' ',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(tokens, { maxLength: 16 }).map((a) => a.join('')),
        ),
        (s) => {
          try {
            parseSampleTypeConfig(s);
          } catch (e) {
            assert.ok(e instanceof JsonError, String(e));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
  it('pprof and JFR forms: random bodies fail only with ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, jfr) => {
        const body = Buffer.concat([
          Buffer.from('--B\r\nContent-Disposition: form-data; name="jfr"; filename="x"\r\n\r\n'),
          bytes,
        ]);
        try {
          if (jfr) readJfrForm(body, 'multipart/form-data; boundary=B');
          else readPprofForm(body, 'multipart/form-data; boundary=B');
        } catch (e) {
          assert.ok(isProtocolError(e), String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
