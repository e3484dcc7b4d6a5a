import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytes, formatValue, percent, rangeText, short, signedPercent } from './format.js';

describe('values in a profile unit', () => {
  it('formats durations, bytes and counts', () => {
    assert.equal(formatValue(3.5e9, 'nanoseconds'), '3.5 s');
    assert.equal(formatValue(5e8, 'nanoseconds'), '500 ms');
    assert.equal(formatValue(90e9, 'nanoseconds'), '1.5 min');
    assert.equal(formatValue(1500, 'microseconds'), '1.5 ms');
    assert.equal(formatValue(0, 'nanoseconds'), '0 s');
    assert.equal(formatValue(1536, 'bytes'), '1.5 KiB');
    assert.equal(bytes(1000), '1000 B');
    assert.equal(formatValue(1234567, 'count'), '1.23M');
    assert.equal(formatValue(12, 'goroutines'), '12 goroutines');
    assert.equal(short(999), '999');
  });

  it('formats shares and changes', () => {
    assert.equal(percent(350, 1355), '25.8%');
    assert.equal(percent(50, 550), '9.09%');
    assert.equal(percent(1, 1e7), '<0.01%');
    assert.equal(percent(1, 0), '0%');
    assert.equal(signedPercent(3.5517), '+355%');
    assert.equal(signedPercent(-0.05), '-5.0%');
    assert.equal(signedPercent(Infinity), 'new');
    assert.equal(signedPercent(-1), 'removed');
  });

  it('writes a range with the date once when both ends share it', () => {
    const a = new Date(2026, 10, 25, 8, 0, 0).getTime();
    assert.equal(rangeText(a, a + 3600_000), '2026-11-25 08:00:00 – 09:00:00');
    assert.equal(rangeText(a, a + 86_400_000), '2026-11-25 08:00:00 – 2026-11-26 08:00:00');
  });
});
