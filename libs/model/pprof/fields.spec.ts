import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PPROF_FIELDS, type PprofMessage } from './fields.js';
import { decodePprofFlat } from './flat-reader.js';
import { PprofDecodeError } from './errors.js';
import { decodePprof } from './profile-reader.js';
import { bytes, wire } from './testing.js';

const { len, fixed32, fixed64 } = wire;

// Where each message sits in a profile: its bytes wrapped in the fields that lead to it.
const at: Record<PprofMessage, (inner: number[]) => number[]> = {
  Profile: (x) => x,
  ValueType: (x) => len(1, x),
  Sample: (x) => len(2, x),
  Label: (x) => len(2, len(3, x)),
  Mapping: (x) => len(3, x),
  Location: (x) => len(4, x),
  Line: (x) => len(4, len(4, x)),
  Function: (x) => len(5, x),
};

describe('PPROF_FIELDS: the decoders refuse a known field with a wrong wire type as Go does', () => {
  for (const decoder of [decodePprof, decodePprofFlat])
    it(`${decoder.name}: every field of every message, as fixed32, with its Go name`, () => {
      for (const message of Object.keys(PPROF_FIELDS) as PprofMessage[]) {
        const names = PPROF_FIELDS[message];
        for (let field = 1; field < names.length; field++) {
          // no field of profile.proto is fixed32
          const want = `proto: wrong wireType = 5 for field ${names[field]} (at byte `;
          assert.throws(
            () => decoder(bytes(at[message](fixed32(field)))),
            (e: unknown) =>
              e instanceof PprofDecodeError && e.kind === 'malformed' && e.message.startsWith(want),
            `${message}.${names[field]}`,
          );
        }
        // the first field number past the list is unknown: skipped
        assert.ok(decoder(bytes(at[message](fixed64(names.length)))), `${message} unknown`);
      }
    });
});
