// What Pyroscope's `/ingest` pprof path does to a decoded pprof before pushing it
// (`pkg/og/convert/pprof/profile.go`; pyroscope-protocol.md §1.3, §1.5.1, §1.6.1): the metric
// name from the sample types (and the form's sample_type_config), the 1970 time fix for old
// py-spy/rbspy pprofs, function renaming for scripting spies, and the .NET repairs.

import { pushFunction, type FlatProfile, type ProfileHeader } from './flat/flat-profile.js';
import type { Int64, Profile, ProfileFunction } from './profile.js';

/** One entry of the `sample_type_config` form part (`tree.SampleTypeConfig`). */
export interface SampleTypeConfig {
  units?: string;
  'display-name'?: string;
  aggregation?: string;
  cumulative?: boolean;
  sampled?: boolean;
}

export type SampleTypeConfigMap = Record<string, SampleTypeConfig | null>;

/** `tree.DefaultSampleTypeMapping`, used when the upload carries no sample_type_config. */
export const DEFAULT_SAMPLE_TYPE_MAPPING: Readonly<SampleTypeConfigMap> = Object.freeze({
  samples: { 'display-name': 'cpu', units: 'samples', sampled: true },
  inuse_objects: { units: 'objects', aggregation: 'average' },
  alloc_objects: { units: 'objects', cumulative: true },
  inuse_space: { units: 'bytes', aggregation: 'average' },
  alloc_space: { units: 'bytes', cumulative: true },
  goroutine: { 'display-name': 'goroutines', units: 'goroutines', aggregation: 'average' },
  contentions: { 'display-name': 'mutex_count', units: 'lock_samples', cumulative: true },
  delay: { 'display-name': 'mutex_duration', units: 'lock_nanoseconds', cumulative: true },
});

/**
 * The series `__name__` of a pprof upload: `wall` if any sample type is `wall`; otherwise the
 * first sample type (display name if configured) that contains `cpu` → `process_cpu`,
 * `alloc_`/`inuse_` or equals `space`/`objects` → `memory`, `mutex_` → `mutex`, `block_` →
 * `block`, `goroutines` → `goroutines`; otherwise the last sample type's (display) name.
 * `config` replaces the default mapping entirely when given.
 */
export function pprofMetricName(
  profile: Pick<ProfileHeader, 'sampleType' | 'stringTable'>,
  config?: SampleTypeConfigMap,
): string {
  const st = profile.stringTable;
  const names = profile.sampleType.map((vt) => st[vt.type] ?? '');
  if (names.includes('wall')) return 'wall';
  const cfg = config ?? DEFAULT_SAMPLE_TYPE_MAPPING;
  let name = '';
  for (const raw of names) {
    name = raw;
    const c = Object.hasOwn(cfg, raw) ? cfg[raw] : undefined;
    const display = c?.['display-name'];
    if (display) name = display;
    if (name.includes('cpu')) return 'process_cpu';
    if (
      name.includes('alloc_') ||
      name.includes('inuse_') ||
      name === 'space' ||
      name === 'objects'
    ) {
      return 'memory';
    }
    if (name.includes('mutex_')) return 'mutex';
    if (name.includes('block_')) return 'block';
    if (name.includes('goroutines')) return 'goroutines';
  }
  return name;
}

/** Nanoseconds in 1970 (UTC): [0, 31536000e9). */
const END_OF_1970 = 31536000n * 1000000000n;

/**
 * `fixTime`: a `timeNanos` of 0 or within 1970 (old py-spy/rbspy/pyroscope-rs pprofs carried
 * microseconds) is replaced by the upload's `from`. Returns whether it changed.
 */
export function fixPprofTime(p: { timeNanos: Int64 }, fromNanos: Int64): boolean {
  const t = BigInt(p.timeNanos);
  if (t >= 0n && t < END_OF_1970) {
    p.timeNanos = fromNanos;
    return true;
  }
  return false;
}

export function isScriptingSpy(spyName: string): boolean {
  return spyName === 'pyspy' || spyName === 'rbspy' || spyName === 'scripting';
}

/**
 * `FixFunctionNamesForScriptingLanguages`: for pyspy/rbspy/scripting spies every function used
 * by a location line is replaced by a new function named `"<filename> <name>"` (for `pyspy`, not
 * when the filename is absolute). New functions are appended with ids above the current maximum.
 */
export function fixScriptingFunctionNames(p: Profile, spyName: string): void {
  if (!isScriptingSpy(spyName)) return;
  const st = p.stringTable;
  const added = new Map<string, number>();
  const addString = (s: string): number => {
    let i = added.get(s);
    if (i === undefined) {
      i = st.length;
      st.push(s);
      added.set(s, i);
    }
    return i;
  };
  const byId = new Map<number, ProfileFunction>();
  let maxId = 0;
  for (const f of p.function) {
    if (!byId.has(f.id)) byId.set(f.id, f);
    if (f.id > maxId) maxId = f.id;
  }
  const created = new Map<string, ProfileFunction>();
  for (const loc of p.location) {
    for (const line of loc.line) {
      // Go indexes a map that defaults to 0 for an unknown id: function[0].
      const fn = byId.get(line.functionId) ?? p.function[0];
      if (fn === undefined) continue;
      const filename = st[fn.filename] ?? '';
      if (spyName === 'pyspy' && filename.startsWith('/')) continue;
      const name = `${filename} ${st[fn.name] ?? ''}`;
      let nf = created.get(name);
      if (!nf) {
        maxId++;
        nf = {
          id: maxId,
          name: addString(name),
          filename: fn.filename,
          systemName: fn.systemName,
          startLine: fn.startLine,
        };
        created.set(name, nf);
        p.function.push(nf);
      }
      line.functionId = nf.id;
    }
  }
}

/** `fixScriptingFunctionNames` on the flat model. */
export function fixScriptingFunctionNamesFlat(f: FlatProfile, spyName: string): void {
  if (!isScriptingSpy(spyName)) return;
  const st = f.stringTable;
  const added = new Map<string, number>();
  const addString = (s: string): number => {
    let i = added.get(s);
    if (i === undefined) {
      i = st.length;
      st.push(s);
      added.set(s, i);
    }
    return i;
  };
  const F = f.functions;
  const byId = new Map<number, number>();
  let maxId = 0;
  for (let i = 0; i < F.count; i++) {
    if (!byId.has(F.id[i])) byId.set(F.id[i], i);
    if (F.id[i] > maxId) maxId = F.id[i];
  }
  const created = new Map<string, number>();
  const L = f.locations;
  for (let j = 0, e = L.lineStart[L.count]; j < e; j++) {
    // Go indexes a map that defaults to 0 for an unknown id: function[0].
    const row = byId.get(L.lineFunction[j]) ?? (F.count > 0 ? 0 : -1);
    if (row < 0) continue;
    const filename = st[F.filename[row]] ?? '';
    if (spyName === 'pyspy' && filename.startsWith('/')) continue;
    const name = `${filename} ${st[F.name[row]] ?? ''}`;
    let id = created.get(name);
    if (id === undefined) {
      id = ++maxId;
      const nameIdx = addString(name);
      pushFunction(F, id, nameIdx, F.systemName[row], F.filename[row], startLineOf(f, row));
      created.set(name, id);
    }
    L.lineFunction[j] = id;
  }
}

function startLineOf(f: FlatProfile, row: number): Int64 {
  const c = f.functions.startLine;
  const x = c.v[row];
  return x === x ? x : c.big!.get(row)!;
}

/** Whether the .NET fix-ups apply: spy `dotnetspy`, or `unknown` with an `inuse-space` config key. */
export function isDotnetSpy(spyName: string, config?: SampleTypeConfigMap): boolean {
  if (spyName === 'dotnetspy') return true;
  const cfg = config ?? DEFAULT_SAMPLE_TYPE_MAPPING;
  return spyName === 'unknown' && Object.hasOwn(cfg, 'inuse-space') && cfg['inuse-space'] != null;
}

/**
 * `FixFunctionIDForBrokenDotnet` + `fixSampleTypes`: when every function id is 0 and there are
 * as many functions as locations, function[i].id := location[i].id; `-` in sample-type names
 * becomes `_`.
 */
export function fixDotnet(p: Profile): void {
  if (p.function.every((f) => f.id === 0) && p.function.length === p.location.length) {
    for (let i = 0; i < p.location.length; i++) p.function[i].id = p.location[i].id;
  }
  for (const vt of p.sampleType) {
    const s = p.stringTable[vt.type];
    if (s !== undefined && s.includes('-')) p.stringTable[vt.type] = s.replaceAll('-', '_');
  }
}

/** `fixDotnet` on the flat model. */
export function fixDotnetFlat(f: FlatProfile): void {
  const F = f.functions;
  const L = f.locations;
  let allZero = true;
  for (let i = 0; i < F.count; i++) if (F.id[i] !== 0) allZero = false;
  if (allZero && F.count === L.count) {
    for (let i = 0; i < L.count; i++) F.id[i] = L.id[i];
  }
  for (const vt of f.sampleType) {
    const s = f.stringTable[vt.type];
    if (s !== undefined && s.includes('-')) f.stringTable[vt.type] = s.replaceAll('-', '_');
  }
}

/** Go's json.Marshal of a string: HTML-safe escapes as encoding/json writes them. */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => {
    return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
  });
}

/**
 * `injectMappingVersions` (distributor): when the series labels carry `service_repository`,
 * `service_git_ref` or `service_root_path`, every mapping's build id becomes the JSON
 * `{"repository","git_ref","build_id","root_path"}` (empty fields omitted, Go's escaping).
 * Returns whether the profile changed.
 */
export function injectMappingVersions(
  labels: readonly { name: string; value: string }[],
  p: Pick<ProfileHeader, 'mapping' | 'stringTable'>,
): boolean {
  const get = (n: string): string => labels.find((l) => l.name === n)?.value ?? '';
  const repository = get('service_repository');
  const gitRef = get('service_git_ref');
  const rootPath = get('service_root_path');
  if (repository === '' && gitRef === '' && rootPath === '') return false;
  for (const m of p.mapping) {
    const buildId = p.stringTable[m.buildId] ?? '';
    const fields: string[] = [];
    if (repository !== '') fields.push(`"repository":${goJsonString(repository)}`);
    if (gitRef !== '') fields.push(`"git_ref":${goJsonString(gitRef)}`);
    if (buildId !== '') fields.push(`"build_id":${goJsonString(buildId)}`);
    if (rootPath !== '') fields.push(`"root_path":${goJsonString(rootPath)}`);
    p.stringTable.push(`{${fields.join(',')}}`);
    m.buildId = p.stringTable.length - 1;
  }
  return true;
}
