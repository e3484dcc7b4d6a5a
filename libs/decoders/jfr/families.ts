/**
 * The profiles one JFR recording can produce, one per event family (§4.7), with the exact sample
 * types, period types and `__name__` that Pyroscope's jfr-parser gives them.
 */
export type JfrFamily =
  | 'cpu'
  | 'wall'
  | 'alloc_in_new_tlab'
  | 'alloc_outside_tlab'
  | 'lock'
  | 'thread_park'
  | 'live_object'
  | 'alloc_sample'
  | 'malloc';

export interface FamilySpec {
  family: JfrFamily;
  /** the series' `__name__` */
  metric: string;
  sampleTypes: ReadonlyArray<readonly [type: string, unit: string]>;
  /** undefined: the pprof has no period type (profile type ids end in `::`) */
  periodType: readonly [type: string, unit: string] | undefined;
  /** values are sample counts multiplied by the period (1e9 / sampleRate ns) */
  scaled: boolean;
}

export const F_CPU = 0;
export const F_WALL = 1;
export const F_IN_TLAB = 2;
export const F_OUT_TLAB = 3;
export const F_LOCK = 4;
export const F_PARK = 5;
export const F_LIVE = 6;
export const F_ALLOC_SAMPLE = 7;
export const F_MALLOC = 8;

export const FAMILIES: readonly FamilySpec[] = [
  {
    family: 'cpu',
    metric: 'process_cpu',
    sampleTypes: [['cpu', 'nanoseconds']],
    periodType: ['cpu', 'nanoseconds'],
    scaled: true,
  },
  {
    family: 'wall',
    metric: 'wall',
    sampleTypes: [['wall', 'nanoseconds']],
    periodType: ['wall', 'nanoseconds'],
    scaled: true,
  },
  {
    family: 'alloc_in_new_tlab',
    metric: 'memory',
    sampleTypes: [
      ['alloc_in_new_tlab_objects', 'count'],
      ['alloc_in_new_tlab_bytes', 'bytes'],
    ],
    periodType: ['space', 'bytes'],
    scaled: false,
  },
  {
    family: 'alloc_outside_tlab',
    metric: 'memory',
    sampleTypes: [
      ['alloc_outside_tlab_objects', 'count'],
      ['alloc_outside_tlab_bytes', 'bytes'],
    ],
    periodType: ['space', 'bytes'],
    scaled: false,
  },
  {
    family: 'lock',
    metric: 'mutex',
    sampleTypes: [
      ['contentions', 'count'],
      ['delay', 'nanoseconds'],
    ],
    periodType: ['mutex', 'count'],
    scaled: false,
  },
  {
    family: 'thread_park',
    metric: 'block',
    sampleTypes: [
      ['contentions', 'count'],
      ['delay', 'nanoseconds'],
    ],
    periodType: ['block', 'count'],
    scaled: false,
  },
  {
    family: 'live_object',
    metric: 'memory',
    sampleTypes: [['live', 'count']],
    periodType: ['objects', 'count'],
    scaled: false,
  },
  {
    family: 'alloc_sample',
    metric: 'memory',
    sampleTypes: [
      ['alloc_sample_objects', 'count'],
      ['alloc_sample_bytes', 'bytes'],
    ],
    periodType: ['space', 'bytes'],
    scaled: false,
  },
  {
    family: 'malloc',
    metric: 'memory',
    sampleTypes: [
      ['malloc_objects', 'count'],
      ['malloc_bytes', 'bytes'],
    ],
    periodType: undefined,
    scaled: false,
  },
];

/** `__name__:type:unit:periodType:periodUnit` per sample type (§1.9). */
export function profileTypeIds(spec: FamilySpec): string[] {
  const [pt, pu] = spec.periodType ?? ['', ''];
  return spec.sampleTypes.map(([t, u]) => `${spec.metric}:${t}:${u}:${pt}:${pu}`);
}

/** The key jfr-parser's tests sort produced profiles by: `metric_type__unit type__unit`. */
export function sortKey(spec: FamilySpec): string {
  return `${spec.metric}_${spec.sampleTypes.map(([t, u]) => `${t}__${u}`).join(' ')}`;
}
