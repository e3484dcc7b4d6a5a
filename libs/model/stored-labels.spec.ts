import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { storedSeriesLabels, isReservedLabelName } from './stored-labels.js';

// The stored label set of Pyroscope's CreateProfileLabels (pkg/phlaredb/labels/labels.go) after
// head.go's __delta__ removal, with LabelsBuilder's empty-value rule (pkg/model/labels.go).

const names = (ls: { name: string }[]) => ls.map((l) => l.name);

describe('storedSeriesLabels', () => {
  it('adds __service_name__, __period_*__, __type__, __unit__, __profile_type__; drops __delta__', () => {
    const out = storedSeriesLabels(
      [
        { name: '__name__', value: 'process_cpu' },
        { name: '__delta__', value: 'false' },
        { name: 'service_name', value: 'kafka' },
        { name: 'jfr_event', value: 'cpu' },
        { name: 'pyroscope_spy', value: 'javaspy' },
      ],
      'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
    );
    assert.deepEqual(out, [
      { name: '__name__', value: 'process_cpu' },
      { name: '__period_type__', value: 'cpu' },
      { name: '__period_unit__', value: 'nanoseconds' },
      { name: '__profile_type__', value: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds' },
      { name: '__service_name__', value: 'kafka' },
      { name: '__type__', value: 'cpu' },
      { name: '__unit__', value: 'nanoseconds' },
      { name: 'jfr_event', value: 'cpu' },
      { name: 'pyroscope_spy', value: 'javaspy' },
      { name: 'service_name', value: 'kafka' },
    ]);
  });

  it('an empty value is no label: a = "", an empty period type, no service name', () => {
    const out = storedSeriesLabels(
      [
        { name: '__name__', value: 'process_cpu' },
        { name: 'a', value: '' },
        { name: 'b', value: 'c' },
      ],
      'process_cpu:cpu:nanoseconds::nanoseconds',
    );
    assert.deepEqual(names(out), [
      '__name__',
      '__period_unit__',
      '__profile_type__',
      '__type__',
      '__unit__',
      'b',
    ]);
  });

  it('__name__ follows the profile type (the default relabel rule renamed wall cpu)', () => {
    const out = storedSeriesLabels(
      [{ name: '__name__', value: 'wall' }],
      'process_cpu:cpu:nanoseconds:wall:nanoseconds',
    );
    assert.equal(out.find((l) => l.name === '__name__')?.value, 'process_cpu');
  });

  it('property: sorted, unique names, no empty value, never __delta__', () => {
    const label = fc.record({
      name: fc.constantFrom('__delta__', '__order__', 'a', 'b', 'service_name', '__name__', 'x.y'),
      value: fc.constantFrom('', 'v', 'false'),
    });
    fc.assert(
      fc.property(fc.array(label, { maxLength: 12 }), (ls) => {
        const out = storedSeriesLabels(ls, 'm:t:u:p:q');
        const ns = names(out);
        assert.deepEqual(ns, [...new Set(ns)].sort());
        assert.ok(out.every((l) => l.value !== ''));
        assert.ok(!ns.includes('__delta__') && !ns.includes('__order__'));
      }),
    );
  });

  it('isReservedLabelName', () => {
    assert.ok(isReservedLabelName('__type__'));
    assert.ok(!isReservedLabelName('service_name'));
    assert.ok(!isReservedLabelName('____'));
  });
});
