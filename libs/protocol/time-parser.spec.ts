import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { millisToNanos, parseAtTime } from './time-parser.js';

const NOW = 1_700_000_000_123_456_789n;
const H = 3_600_000_000_000n;

describe('parseAtTime: digit-count units (§1.3)', () => {
  const cases: [string, bigint][] = [
    ['1700000000', 1_700_000_000_000_000_000n], // 10 digits: seconds (Java, Node)
    ['1700000000123', 1_700_000_000_123_000_000n], // 13: milliseconds
    ['1700000000123456', 1_700_000_000_123_456_000n], // 16: microseconds
    ['1694142280000000000', 1_694_142_280_000_000_000n], // 19: nanoseconds (Go SDK)
    ['0', 0n],
    ['1700000001', 1_700_000_001_000_000_000n],
    ['170000000', 170_000_000_000_000_000n], // 9 digits: seconds
    ['1_700_000_000', 1_700_000_000_000_000_000n], // `_`, `,`, spaces removed
    ['1,700,000,000', 1_700_000_000_000_000_000n],
    [' 1700000000 ', 1_700_000_000_000_000_000n],
  ];
  for (const [input, want] of cases) it(input, () => assert.equal(parseAtTime(input, NOW), want));
});

describe('parseAtTime: YYYYMMDD', () => {
  it('a valid date with year > 1900 is midnight UTC', () => {
    assert.equal(parseAtTime('20240229', NOW), BigInt(Date.UTC(2024, 1, 29)) * 1_000_000n);
    assert.equal(parseAtTime('19010101', NOW), BigInt(Date.UTC(1901, 0, 1)) * 1_000_000n);
  });
  it('an invalid date or year ≤ 1900 falls back to seconds', () => {
    assert.equal(parseAtTime('20230229', NOW), 20_230_229n * 1_000_000_000n);
    assert.equal(parseAtTime('19000101', NOW), 19_000_101n * 1_000_000_000n);
    assert.equal(parseAtTime('20241301', NOW), 20_241_301n * 1_000_000_000n);
    assert.equal(parseAtTime('00000000', NOW), 0n);
  });
});

describe('parseAtTime: relative and unparseable values', () => {
  const cases: [string, bigint][] = [
    ['now', NOW],
    ['now-1h', NOW - H],
    ['now+1h', NOW + H],
    ['now-30s', NOW - 30_000_000_000n],
    ['now-5m', NOW - 5n * 60_000_000_000n],
    ['now-5min', NOW - 5n * 60_000_000_000n],
    ['now-1d', NOW - 24n * H],
    ['now-1w', NOW - 7n * 24n * H],
    ['now-1mon', NOW - 30n * 24n * H],
    ['now-1M', NOW - 30n * 24n * H],
    ['now-1y', NOW - 365n * 24n * H],
    ['now-1h30m', NOW - H], // only the first amount+unit counts
    ['now-1x', NOW], // unknown unit: offset 0
    ['now-h', NOW], // no amount: 0
    ['yesterday', NOW], // references are not implemented
    ['anything-2h', NOW - 2n * H], // the reference text is ignored
    ['now-1h+2h', NOW + 2n * H], // `+` is looked for first
    ['now 1h', NOW], // `+` decoded to a space and removed: no offset
    ['', NOW],
  ];
  for (const [input, want] of cases)
    it(JSON.stringify(input), () => assert.equal(parseAtTime(input, NOW), want));
  it('wraps like Go int64 arithmetic beyond 2262', () => {
    assert.equal(
      parseAtTime('99999999999', NOW),
      BigInt.asIntN(64, 99_999_999_999n * 1_000_000_000n),
    );
    assert.equal(
      parseAtTime('99999999999999999999', NOW),
      BigInt.asIntN(64, ((1n << 63n) - 1n) * 1_000_000_000n),
    );
  });
  it('millisToNanos', () =>
    assert.equal(millisToNanos(1_700_000_000_123), 1_700_000_000_123_000_000n));
});

describe('parseAtTime: properties', () => {
  const instant = fc.bigInt({ min: 1_000_000_000_000_000_000n, max: 9_223_372_036_854_775_807n });
  it('digit-count round trips: s, ms, µs, ns renderings of one instant', () => {
    fc.assert(
      fc.property(instant, (ns) => {
        const s = ns / 1_000_000_000n;
        const ms = ns / 1_000_000n;
        const us = ns / 1_000n;
        assert.equal(parseAtTime(String(ns), NOW), ns);
        assert.equal(parseAtTime(String(us), NOW), us * 1_000n);
        assert.equal(parseAtTime(String(ms), NOW), ms * 1_000_000n);
        assert.equal(parseAtTime(String(s), NOW), s * 1_000_000_000n);
      }),
    );
  });
  it('now-N<unit> is N units before now', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.constantFrom(['s', 1n], ['m', 60n], ['h', 3600n], ['d', 86400n]),
        (n, [u, sec]) => {
          assert.equal(parseAtTime(`now-${n}${u}`, NOW), NOW - BigInt(n) * sec * 1_000_000_000n);
        },
      ),
    );
  });
  it('never throws and always returns an int64', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        const v = parseAtTime(s, NOW);
        assert.equal(BigInt.asIntN(64, v), v);
      }),
      { numRuns: 2000 },
    );
  });
});
