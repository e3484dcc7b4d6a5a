// Profile type IDs (`__name__:sample_type:unit:period_type:period_unit`, pyroscope-protocol.md
// §1.9) and the legacy app-name-suffix table that picks the type of folded/lines/trie/tree and
// speedscope uploads (§1.6.3, `pkg/ingester/pyroscope/ingest_adapter.go` convertMetadata).

import type { Profile } from './profile.js';

/** What the profile types of a profile depend on (a `Profile` or a flat profile). */
type TypedProfile = Pick<Profile, 'sampleType' | 'periodType' | 'stringTable'>;
import { applyDefaultRelabelRules } from './relabel.js';

export interface ProfileType {
  name: string;
  sampleType: string;
  sampleUnit: string;
  periodType: string;
  periodUnit: string;
}

export function formatProfileTypeId(t: ProfileType): string {
  return `${t.name}:${t.sampleType}:${t.sampleUnit}:${t.periodType}:${t.periodUnit}`;
}

/** Parses an ID; throws `RangeError` unless it has exactly five `:`-separated parts. */
export function parseProfileTypeId(id: string): ProfileType {
  const parts = id.split(':');
  if (parts.length !== 5) throw new RangeError(`profile type ID must have 5 parts: ${id}`);
  const [name, sampleType, sampleUnit, periodType, periodUnit] = parts;
  return { name, sampleType, sampleUnit, periodType, periodUnit };
}

/**
 * One profile type per sample type of `profile`, for a series whose `__name__` is `metricName`.
 * The per-type default relabel rule (`wall` whose `__type__` is `cpu` becomes `process_cpu`) is
 * applied here because it needs the sample type.
 */
export function profileTypes(metricName: string, profile: TypedProfile): ProfileType[] {
  const st = profile.stringTable;
  const periodType = profile.periodType ? (st[profile.periodType.type] ?? '') : '';
  const periodUnit = profile.periodType ? (st[profile.periodType.unit] ?? '') : '';
  return profile.sampleType.map((vt) => {
    const sampleType = st[vt.type] ?? '';
    const name = applyDefaultRelabelRules([
      { name: '__name__', value: metricName },
      { name: '__type__', value: sampleType },
    ]).find((l) => l.name === '__name__')?.value;
    return {
      name: name ?? metricName,
      sampleType,
      sampleUnit: st[vt.unit] ?? '',
      periodType,
      periodUnit,
    };
  });
}

export function profileTypeIds(metricName: string, profile: TypedProfile): string[] {
  return profileTypes(metricName, profile).map(formatProfileTypeId);
}

// ---------------------------------------------------------------------------------------------
// Legacy suffix table

export interface LegacyProfileType {
  /** the app name with the type suffix removed */
  app: string;
  /** `__name__` */
  metric: string;
  sampleType: string;
  sampleUnit: string;
}

const LEGACY: Record<string, [metric: string, type: string | null, unit: string]> = {
  cpu: ['process_cpu', 'samples', 'count'],
  itimer: ['process_cpu', 'samples', 'count'],
  wall: ['wall', 'samples', 'count'],
  seconds: ['wall', 'samples', 'count'],
  nanoseconds: ['wall', 'samples', 'count'],
  microseconds: ['wall', 'samples', 'count'],
  milliseconds: ['wall', 'samples', 'count'],
  inuse_objects: ['memory', null, 'count'],
  alloc_objects: ['memory', null, 'count'],
  inuse_space: ['memory', null, 'bytes'],
  alloc_space: ['memory', null, 'bytes'],
  goroutines: ['goroutine', null, 'count'],
  mutex_count: ['mutex', 'contentions', 'count'],
  mutex_duration: ['mutex', 'delay', 'nanoseconds'],
  block_count: ['block', 'contentions', 'count'],
  block_duration: ['block', 'delay', 'nanoseconds'],
  lock_count: ['block', 'contentions', 'count'],
  lock_duration: ['block', 'delay', 'nanoseconds'],
  alloc_in_new_tlab_objects: ['memory', null, 'count'],
  alloc_in_new_tlab_bytes: ['memory', null, 'bytes'],
  alloc_outside_tlab_objects: ['memory', null, 'count'],
  alloc_outside_tlab_bytes: ['memory', null, 'bytes'],
  live: ['memory', null, 'count'],
  exceptions: ['exceptions', 'samples', 'count'],
  bytes: ['memory', 'samples', 'bytes'],
};

/**
 * The type named by the app-name suffix after the last `.` (none → `cpu`). Returns `undefined`
 * for an unknown suffix (Pyroscope: `unknown profile type: <suffix>`, InvalidArgument).
 */
export function legacyProfileType(appName: string): LegacyProfileType | undefined {
  const dot = appName.lastIndexOf('.');
  const suffix = dot < 0 ? 'cpu' : appName.slice(dot + 1);
  const app = dot < 0 ? appName : appName.slice(0, dot);
  if (!Object.hasOwn(LEGACY, suffix)) return undefined;
  const [metric, type, unit] = LEGACY[suffix];
  return { app, metric, sampleType: type ?? suffix, sampleUnit: unit };
}
