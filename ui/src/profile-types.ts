import type { ProfileType } from './api';

// Which profile type a service opens with when the address names none. As Grafana's profiles
// app does, what people mean first is time: CPU time, then any other time (a Node.js or .NET
// wall profile's wall time), then space (bytes), then counts (samples, objects, goroutines).
// A wall profile's "samples" count comes before its "wall" time in the API's order, so picking
// the first type would open on a count.

const TIME_UNITS = new Set(['nanoseconds', 'microseconds', 'milliseconds', 'seconds']);

function rank(t: ProfileType): number {
  if (t.ID.startsWith('process_cpu:cpu:')) return 0;
  if (TIME_UNITS.has(t.sampleUnit)) return t.name === 'wall' && t.sampleType === 'wall' ? 1 : 2;
  if (t.sampleUnit === 'bytes') return 3;
  return 4;
}

/** The type to open, or undefined for none; ties keep the API's order. */
export function defaultProfileType(types: readonly ProfileType[]): ProfileType | undefined {
  let best: ProfileType | undefined;
  for (const t of types) if (best === undefined || rank(t) < rank(best)) best = t;
  return best;
}
