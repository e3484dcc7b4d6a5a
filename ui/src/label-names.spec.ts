import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterableLabelNames } from './label-names.js';

describe('label filter names', () => {
  it("hides every reserved __*__ name of Pyroscope's label sets, and service_name", () => {
    // a JFR CPU series' LabelNames, as Pyroscope answers them
    const names = [
      '__name__',
      '__period_type__',
      '__period_unit__',
      '__profile_type__',
      '__service_name__',
      '__type__',
      '__unit__',
      '__session_id__',
      'jfr_event',
      'pyroscope_spy',
      'service_name',
      '__x',
      'a__',
    ];
    assert.deepEqual(filterableLabelNames(names), ['jfr_event', 'pyroscope_spy', '__x', 'a__']);
  });
});
