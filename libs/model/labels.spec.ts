import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  compareStrings,
  jfrIngestLabels,
  legacyIngestLabels,
  pprofIngestLabels,
  isLabelAllowedForIngestion,
  isWellFormed,
  limitSessions,
  repairLabels,
  sortLabels,
  truncateUtf8Head,
  truncateUtf8Tail,
  utf8Length,
} from './labels.js';
import type { LabelRepairOptions } from './labels.js';

const OPTS: LabelRepairOptions = {
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  sanitizeNames: false,
};

describe('labels', () => {
  it('sorts by code point (UTF-8 byte order), not UTF-16 units', () => {
    // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (F0 9F 98 80) in Go.
    assert.ok(compareStrings('\uFF5E', '\u{1F600}') < 0);
    assert.ok('\uFF5E' > '\u{1F600}'); // the JS order differs
    assert.deepEqual(
      sortLabels([
        { name: 'b', value: '1' },
        { name: '__name__', value: 'x' },
        { name: 'a', value: '2' },
      ]).map((l) => l.name),
      ['__name__', 'a', 'b'],
    );
  });

  it('allows __session_id__ but no other reserved name', () => {
    assert.equal(isLabelAllowedForIngestion('__session_id__'), true);
    assert.equal(isLabelAllowedForIngestion('__name__'), false);
    assert.equal(isLabelAllowedForIngestion('_x'), true);
  });

  it('truncates at UTF-8 boundaries', () => {
    assert.equal(truncateUtf8Head('aé€😀', 4), 'aé');
    assert.equal(truncateUtf8Tail('aé€😀', 5), '😀');
    assert.equal(truncateUtf8Tail('aé€😀', 7), '€😀');
    assert.equal(utf8Length('aé€😀'), 10);
  });

  it('repairs instead of rejecting, and reports each repair', () => {
    const long = 'é'.repeat(1500); // 3000 bytes
    const { labels, repairs } = repairLabels(
      [
        { name: 'service_name', value: 'svc' },
        { name: '', value: 'x' },
        { name: 'v', value: long },
        { name: 'dup', value: '1' },
        { name: 'dup', value: '2' },
        { name: 'bad', value: 'a\uD800b' },
        { name: '__name__', value: 'process_cpu' },
      ],
      OPTS,
    );
    assert.deepEqual(
      labels.map((l) => l.name),
      ['__name__', 'bad', 'dup', 'service_name', 'v'],
    );
    assert.equal(labels.find((l) => l.name === 'dup')?.value, '1');
    assert.equal(labels.find((l) => l.name === 'bad')?.value, 'a\uFFFDb');
    assert.equal(utf8Length(labels.find((l) => l.name === 'v')!.value), 2048);
    assert.deepEqual(repairs.map((r) => r.kind).sort(), [
      'duplicate_dropped',
      'name_invalid_dropped',
      'value_invalid_utf8',
      'value_truncated',
    ]);
  });

  it('drops labels over the count limit but never __name__ or service_name', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({
      name: `l${String(i).padStart(2, '0')}`,
      value: 'v',
    }));
    many.push({ name: 'service_name', value: 's' }, { name: '__name__', value: 'n' });
    const { labels, repairs } = repairLabels(many, OPTS);
    assert.equal(labels.length, 30);
    assert.ok(labels.some((l) => l.name === 'service_name'));
    assert.ok(labels.some((l) => l.name === '__name__'));
    assert.equal(repairs.filter((r) => r.kind === 'excess_dropped').length, 12);
  });

  it('sanitises legacy names only when asked', () => {
    const input = [{ name: 'otel.scope.name', value: 'x' }];
    assert.equal(repairLabels(input, OPTS).labels[0].name, 'otel.scope.name');
    const r = repairLabels(input, { ...OPTS, sanitizeNames: true });
    assert.equal(r.labels[0].name, 'otel_scope_name');
    assert.equal(r.repairs[0].kind, 'name_sanitized');
    assert.equal(
      repairLabels([{ name: '1a', value: 'x' }], { ...OPTS, sanitizeNames: true }).labels.length,
      0,
    );
  });

  it('limits sessions like the distributor', () => {
    const ls = [
      { name: '__session_id__', value: '3e8c7a0f1d2b4c5a' },
      { name: 'a', value: 'b' },
    ];
    assert.deepEqual(limitSessions(ls, 0), [{ name: 'a', value: 'b' }]);
    assert.deepEqual(limitSessions([{ name: '__session_id__', value: 'zz' }], 4), []);
    // 0x5a4c2b1d0f7a8c3e as int64 is positive; mod 4 = 2 → LE hex 0200000000000000
    assert.equal(limitSessions(ls, 4)[0].value, '0200000000000000');
    // A negative int64 (high bit set) gives Go's negative remainder, re-encoded as uint64.
    assert.equal(
      limitSessions([{ name: '__session_id__', value: 'ffffffffffffffff' }], 4)[0].value,
      'ffffffffffffffff',
    );
  });

  it('builds /ingest series labels per converter (service_name / app_name rules)', () => {
    const x = {
      metric: 'm',
      app: 'app',
      spyName: 'spy',
      labels: { service_name: 's', app_name: 'a', __x: '1' },
    };
    const names = (ls: { name: string; value: string }[]) =>
      sortLabels(ls).map((l) => `${l.name}=${l.value}`);
    assert.deepEqual(names(pprofIngestLabels(x)), [
      '__delta__=false',
      '__name__=m',
      'app_name=a',
      'pyroscope_spy=spy',
      'service_name=s',
    ]);
    assert.deepEqual(names(legacyIngestLabels(x)), [
      '__delta__=false',
      '__name__=m',
      'app_name=a',
      'pyroscope_spy=spy',
      'service_name=s',
    ]);
    // JFR adds app_name even when one was sent (a duplicate Pyroscope would reject).
    assert.deepEqual(names(jfrIngestLabels({ ...x, jfrEvent: 'cpu' })), [
      '__delta__=false',
      '__name__=m',
      'app_name=a',
      'app_name=app',
      'jfr_event=cpu',
      'pyroscope_spy=spy',
      'service_name=s',
    ]);
    const bare = { metric: 'm', app: 'app', spyName: '', labels: {} };
    assert.deepEqual(names(legacyIngestLabels(bare)), [
      '__delta__=false',
      '__name__=m',
      'service_name=app',
    ]);
    assert.deepEqual(names(pprofIngestLabels(bare)), [
      '__delta__=false',
      '__name__=m',
      'pyroscope_spy=',
      'service_name=app',
    ]);
  });
});

describe('isWellFormed', () => {
  it('is false exactly for a lone surrogate (what UTF-8 cannot encode)', () => {
    for (const s of ['', 'abc', 'héllo', '\u{1F600}', 'a\uD83D\uDE00b', '\uFFFD'])
      assert.equal(isWellFormed(s), true, JSON.stringify(s));
    for (const s of [
      '\uD800',
      'a\uDC00',
      '\uDE00\uD83D',
      'x\uD83Dy',
      '\uD83D\uD83D\uDE00'.slice(0, 2),
    ])
      assert.equal(isWellFormed(s), false, JSON.stringify(s));
  });
});
