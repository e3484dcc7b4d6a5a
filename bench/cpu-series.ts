import type { NormalizedSeries } from '../libs/queue/index.js';

// The normalised series the store benchmarks write: one CPU profile of one service, as the
// decoder would hand it to the exporter.

export const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

/** Series `${id}:0` of upload `id`, tenant `bench`, covering [atMs, atMs + stepMs). */
export function cpuSeries(
  id: string,
  service: string,
  atMs: number,
  stepMs: number,
  pprof: Buffer,
): NormalizedSeries {
  return {
    seriesId: `${id}:0`,
    uploadId: id,
    tenant: 'bench',
    labels: [
      { name: '__name__', value: 'process_cpu' },
      { name: 'service_name', value: service },
    ],
    profileTypeIds: [CPU],
    startMs: atMs,
    endMs: atMs + stepMs,
    pprof,
  };
}
