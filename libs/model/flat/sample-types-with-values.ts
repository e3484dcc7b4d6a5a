import type { FlatProfile } from './flat-profile.js';

/**
 * Per sample type of `f`, whether any sample has a non-zero value of it. Grafana Pyroscope
 * stores no profile for a type without one (`pkg/segmentwriter/memdb/head.go`: each type's
 * samples are compacted, dropping zero values, and a type left with none is skipped), so such
 * a type makes no series and no profile type here either. One pass over the value column.
 */
export function sampleTypesWithValues(f: FlatProfile): boolean[] {
  const types = f.sampleType.length;
  const out = new Array<boolean>(types).fill(false);
  const { val, valStart, count } = f.samples;
  let left = types;
  for (let i = 0; i < count && left > 0; i++) {
    const base = valStart[i];
    for (let k = 0; k < types; k++) {
      if (out[k]) continue;
      const x = val.v[base + k];
      // NaN marks a value outside the safe range, kept exactly in `big`: never zero
      if (x !== 0) {
        out[k] = true;
        left--;
      }
    }
  }
  return out;
}
