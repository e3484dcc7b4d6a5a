// Pyroscope's fix-ups for Go profiles, applied by the distributor after validation and before
// normalisation when the series' language is Go (`pkg/pprof/fix_go_profile.go`,
// `pkg/pprof/fix_go_truncated.go`, language detection in `pkg/pprof/pprof.go` GetLanguage and
// `pkg/distributor/model/push.go`):
//  - generic type parameters `[go.shape....]` are removed from every string, and functions and
//    locations that become identical are merged;
//  - stacks truncated by the Go runtime's depth limit (32 frames for heap, 64 for CPU) get their
//    missing root-side frames copied from another stack that overlaps them by 16 frames.
// The algorithms are reimplemented from their description and upstream behaviour.

import { copyInt64, growF64, int64At, type FlatProfile } from './flat/flat-profile.js';
import type { LabelPair } from './labels.js';
import type { Profile } from './profile.js';

const SPY_LANGUAGES: Record<string, string> = {
  dotnetspy: 'dotnet',
  gospy: 'go',
  phpspy: 'php',
  pyspy: 'python',
  rbspy: 'ruby',
  nodespy: 'nodejs',
  javaspy: 'java',
  'grafana-agent.java': 'java',
  'pyroscope-rs': 'rust',
};

const LANGUAGE_PATTERNS: [string, string[]][] = [
  ['go', ['.go', '/usr/local/go/']],
  ['java', ['java/', 'sun/']],
  ['ruby', ['.rb', 'gems/']],
  ['nodejs', ['./node_modules/', '.js']],
  ['dotnet', ['System.', 'Microsoft.']],
  ['python', ['.py']],
  ['rust', ['main.rs', 'core.rs']],
];

/** The profile's language: from `pyroscope_spy` when known, else from its symbols; `unknown`. */
export function detectLanguage(
  labels: readonly LabelPair[],
  p: { readonly stringTable: readonly string[] },
): string {
  const spy = labels.find((l) => l.name === 'pyroscope_spy')?.value;
  if (spy && Object.hasOwn(SPY_LANGUAGES, spy)) return SPY_LANGUAGES[spy];
  for (const s of p.stringTable) {
    for (const [lang, patterns] of LANGUAGE_PATTERNS) {
      for (const pat of patterns) if (s.startsWith(pat) || s.endsWith(pat)) return lang;
    }
  }
  return 'unknown';
}

/** Applies both Go fix-ups in place. */
export function fixGoProfile(p: Profile): void {
  dropGoTypeParameters(p);
  if (potentialTruncatedGoStacks(p)) repairGoTruncatedStacks(p);
}

/** `fixGoProfile` on the flat model. */
export function fixGoProfileFlat(f: FlatProfile): void {
  dropGoTypeParametersFlat(f);
  if (potentialTruncatedGoStacksFlat(f)) repairGoTruncatedStacksFlat(f);
}

const SHAPE = '[go.shape.';

/** Removes every bracketed `[go.shape....]` group (with nested brackets) from `s`. */
export function dropTypeParameters(s: string): string {
  if (!s.includes(SHAPE)) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const start = s.indexOf(SHAPE, i);
    if (start < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, start);
    let depth = 0;
    let j = start;
    for (; j < s.length; j++) {
      if (s[j] === '[') depth++;
      else if (s[j] === ']') {
        depth--;
        if (depth === 0) {
          i = j + 1;
          break;
        }
      }
    }
    if (depth !== 0) {
      out += s.slice(i);
      break;
    }
  }
  return out;
}

function dropGoTypeParameters(p: Profile): void {
  let changed = false;
  const st = p.stringTable;
  for (let i = 0; i < st.length; i++) {
    const c = dropTypeParameters(st[i]);
    if (c !== st[i]) {
      st[i] = c;
      changed = true;
    }
  }
  if (!changed) return;
  // Merge functions, then locations, that are now equal by content.
  const fnBy = new Map<string, number>();
  const fnMap = new Map<number, number>();
  for (const f of p.function) {
    const k = [st[f.name], st[f.systemName], st[f.filename], String(f.startLine)].join('\u0000');
    const first = fnBy.get(k);
    if (first === undefined) fnBy.set(k, f.id);
    fnMap.set(f.id, first ?? f.id);
  }
  p.function = p.function.filter((f) => fnMap.get(f.id) === f.id);
  const locBy = new Map<string, number>();
  const locMap = new Map<number, number>();
  for (const l of p.location) {
    for (const line of l.line) line.functionId = fnMap.get(line.functionId) ?? line.functionId;
    const k = [
      l.mappingId,
      String(l.address),
      l.isFolded ? 1 : 0,
      ...l.line.map((x) => `${x.functionId}:${x.line}:${x.column}`),
    ].join('\u0000');
    const first = locBy.get(k);
    if (first === undefined) locBy.set(k, l.id);
    locMap.set(l.id, first ?? l.id);
  }
  p.location = p.location.filter((l) => locMap.get(l.id) === l.id);
  for (const s of p.sample) s.locationId = s.locationId.map((id) => locMap.get(id) ?? id);
}

/** `dropGoTypeParameters` on the flat model (per symbol; samples only get their ids remapped). */
function dropGoTypeParametersFlat(f: FlatProfile): void {
  let changed = false;
  const st = f.stringTable;
  for (let i = 0; i < st.length; i++) {
    const c = dropTypeParameters(st[i]);
    if (c !== st[i]) {
      st[i] = c;
      changed = true;
    }
  }
  if (!changed) return;
  const F = f.functions;
  const fnBy = new Map<string, number>();
  const fnMap = new Map<number, number>();
  for (let i = 0; i < F.count; i++) {
    const k = [
      st[F.name[i]],
      st[F.systemName[i]],
      st[F.filename[i]],
      String(int64At(F.startLine, i)),
    ].join('\u0000');
    const first = fnBy.get(k);
    if (first === undefined) fnBy.set(k, F.id[i]);
    fnMap.set(F.id[i], first ?? F.id[i]);
  }
  let out = 0;
  for (let i = 0; i < F.count; i++) {
    if (fnMap.get(F.id[i]) !== F.id[i]) continue;
    if (out !== i) {
      F.id[out] = F.id[i];
      F.name[out] = F.name[i];
      F.systemName[out] = F.systemName[i];
      F.filename[out] = F.filename[i];
      copyInt64(F.startLine, out, F.startLine, i);
    }
    out++;
  }
  F.count = out;
  const L = f.locations;
  const locBy = new Map<string, number>();
  const locMap = new Map<number, number>();
  for (let i = 0; i < L.count; i++) {
    const parts: (string | number)[] = [
      L.mapping[i],
      String(int64At(L.address, i)),
      L.folded[i] !== 0 ? 1 : 0,
    ];
    for (let j = L.lineStart[i]; j < L.lineStart[i + 1]; j++) {
      L.lineFunction[j] = fnMap.get(L.lineFunction[j]) ?? L.lineFunction[j];
      parts.push(`${L.lineFunction[j]}:${int64At(L.lineLine, j)}:${int64At(L.lineColumn, j)}`);
    }
    const k = parts.join('\u0000');
    const first = locBy.get(k);
    if (first === undefined) locBy.set(k, L.id[i]);
    locMap.set(L.id[i], first ?? L.id[i]);
  }
  out = 0;
  let lineOut = 0;
  for (let i = 0; i < L.count; i++) {
    const j0 = L.lineStart[i];
    const j1 = L.lineStart[i + 1];
    if (locMap.get(L.id[i]) !== L.id[i]) continue;
    L.id[out] = L.id[i];
    L.mapping[out] = L.mapping[i];
    copyInt64(L.address, out, L.address, i);
    L.folded[out] = L.folded[i];
    L.lineStart[out] = lineOut;
    for (let j = j0; j < j1; j++, lineOut++) {
      L.lineFunction[lineOut] = L.lineFunction[j];
      copyInt64(L.lineLine, lineOut, L.lineLine, j);
      copyInt64(L.lineColumn, lineOut, L.lineColumn, j);
    }
    out++;
  }
  // rows only move down (out <= i), so each row's span was read before it was overwritten
  L.lineStart[out] = lineOut;
  L.count = out;
  const s = f.samples;
  for (let k = 0, e = s.locStart[s.count]; k < e; k++) s.loc[k] = locMap.get(s.loc[k]) ?? s.loc[k];
}

// Truncated stacks ---------------------------------------------------------------------------

const TOKENS = 8;
const TOKEN_LEN = 16;
/** stacks shorter than this are neither repaired nor used as a reference */
const SUFFIX_LEN = TOKENS + TOKEN_LEN;
const MAX_CHAIN = 56;

const HEAP_TYPES = new Set(['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']);

export function potentialTruncatedGoStacks(p: Profile): boolean {
  const b = truncationBounds(p);
  if (b === undefined) return false;
  let deep = false;
  for (const s of p.sample) {
    if (s.locationId.length >= b.minDepth) deep = true;
    if (b.maxDepth !== 0 && s.locationId.length >= b.maxDepth) return false;
  }
  return deep;
}

function potentialTruncatedGoStacksFlat(f: FlatProfile): boolean {
  const b = truncationBounds(f);
  if (b === undefined) return false;
  const { locStart, count } = f.samples;
  let deep = false;
  for (let i = 0; i < count; i++) {
    const d = locStart[i + 1] - locStart[i];
    if (d >= b.minDepth) deep = true;
    if (b.maxDepth !== 0 && d >= b.maxDepth) return false;
  }
  return deep;
}

/**
 * The depths that suggest truncation for this profile's types: a stack at least `minDepth`
 * deep may have been cut (and none `maxDepth` or deeper was); undefined when the types are
 * never truncated.
 */
function truncationBounds(
  p: Pick<Profile, 'sampleType' | 'stringTable'>,
): { minDepth: number; maxDepth: number } | undefined {
  const types = p.sampleType.map((t) => p.stringTable[t.type]);
  if (types.some((t) => HEAP_TYPES.has(t))) {
    // Go 1.23+ heap profiles go to 128 frames: a longer stack means nothing was truncated.
    return { minDepth: 32 - 4, maxDepth: 33 };
  }
  if (types.includes('cpu')) return { minDepth: 64 - 4, maxDepth: 0 };
  return undefined;
}

/**
 * Go orders stacks by the bytes of their location ids as little-endian uint64s: ids compare by
 * their least significant byte first.
 */
function compareIdBytes(a: number, b: number): number {
  for (let i = 0; i < 8; i++) {
    const x = a % 256;
    const y = b % 256;
    if (x !== y) return x - y;
    a = Math.floor(a / 256);
    b = Math.floor(b / 256);
  }
  return 0;
}

/** Compares the last SUFFIX_LEN ids of two stacks (both at least that long), as Go's bytes.Compare. */
function compareSuffix(a: readonly number[], b: readonly number[]): number {
  const oa = a.length - SUFFIX_LEN;
  const ob = b.length - SUFFIX_LEN;
  for (let i = 0; i < SUFFIX_LEN; i++) {
    const x = a[oa + i];
    const y = b[ob + i];
    if (x !== y) return compareIdBytes(x, y);
  }
  return 0;
}

/** An identity key for a run of ids (order does not matter here, only equality). */
const runKey = (ids: readonly number[], from: number, to: number): string =>
  ids.slice(from, to).join(',');

interface Group {
  gid: number;
  off: number;
}

export function repairGoTruncatedStacks(p: Profile): void {
  repairStacks(p.sample);
}

/** `repairGoTruncatedStacks` on the flat model: the long stacks are repaired as arrays. */
function repairGoTruncatedStacksFlat(f: FlatProfile): void {
  const s = f.samples;
  // rows are rewritten in order, each start read before it is replaced (into a new array)
  const long: { locationId: number[]; row: number }[] = [];
  for (let i = 0; i < s.count; i++) {
    const l0 = s.locStart[i];
    const l1 = s.locStart[i + 1];
    if (l1 - l0 < SUFFIX_LEN) continue;
    long.push({ locationId: Array.from(s.loc.subarray(l0, l1)), row: i });
  }
  if (long.length === 0) return;
  const before = long.map((x) => x.locationId);
  repairStacks(long);
  if (long.every((x, k) => x.locationId === before[k])) return;
  const repaired = new Map<number, number[]>();
  for (const x of long) repaired.set(x.row, x.locationId);
  let total = 0;
  for (let i = 0; i < s.count; i++)
    total += repaired.get(i)?.length ?? s.locStart[i + 1] - s.locStart[i];
  const loc = growF64(new Float64Array(0), total);
  let n = 0;
  for (let i = 0; i < s.count; i++) {
    const r = repaired.get(i);
    const l0 = s.locStart[i];
    const l1 = s.locStart[i + 1];
    s.locStart[i] = n;
    if (r !== undefined) for (const id of r) loc[n++] = id;
    else for (let k = l0; k < l1; k++) loc[n++] = s.loc[k];
  }
  s.locStart[s.count] = n;
  s.loc = loc;
}

/** The repair on any list of stacks (each a `locationId` array that may be replaced). */
function repairStacks(all: readonly { locationId: number[] }[]): void {
  // Samples long enough, ordered by their root-side suffix; groups share a suffix.
  const samples = all.filter((s) => s.locationId.length >= SUFFIX_LEN);
  if (samples.length === 0) return;
  samples.sort((a, b) => compareSuffix(a.locationId, b.locationId));
  const groups: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    if (i === 0 || compareSuffix(samples[i].locationId, samples[i - 1].locationId) !== 0) {
      groups.push(i);
    }
  }
  const end = (i: number): number => (i + 1 < groups.length ? groups[i + 1] : samples.length);

  // token → the group holding it furthest from the root
  const m = new Map<string, Group>();
  for (let i = 0; i < groups.length; i++) {
    const ids = samples[groups[i]].locationId;
    const o = ids.length - SUFFIX_LEN;
    for (let j = 1; j <= TOKENS; j++) {
      const hi = o + SUFFIX_LEN - j;
      const token = runKey(ids, hi - TOKEN_LEN, hi);
      const c = m.get(token);
      if (c === undefined || j > c.off) m.set(token, { gid: i + 1, off: j });
    }
  }

  const d: Group[] = groups.map(() => ({ gid: 0, off: 0 }));
  for (let i = 0; i < groups.length; i++) {
    const ids = samples[groups[i]].locationId;
    const top = runKey(ids, ids.length - TOKEN_LEN, ids.length);
    const c = m.get(top);
    if (c === undefined || c.gid - 1 === i) continue;
    d[i] = c;
  }

  for (let i = 0; i < groups.length; i++) {
    let c = d[i];
    let off = 0;
    let hops = 0;
    while (c.gid > 0 && c.off > 0) {
      off += c.off;
      const n = d[c.gid - 1];
      if (n.gid === 0 || c.off === 0) break;
      c = n;
      if (++hops === MAX_CHAIN) return;
    }
    if (off === 0) continue;
    const ref = samples[groups[c.gid - 1]].locationId;
    if (off >= ref.length) continue;
    const missing = ref.slice(ref.length - off);
    for (let j = groups[i]; j < end(i); j++) {
      samples[j].locationId = samples[j].locationId.concat(missing);
    }
  }
}
