// Pyroscope's fix-ups for Go profiles, applied by the distributor after validation and before
// normalisation when the series' language is Go (`pkg/pprof/fix_go_profile.go`,
// `pkg/pprof/fix_go_truncated.go`, language detection in `pkg/pprof/pprof.go` GetLanguage and
// `pkg/distributor/model/push.go`):
//  - generic type parameters `[go.shape....]` are removed from every string, and functions and
//    locations that become identical are merged;
//  - stacks truncated by the Go runtime's depth limit (32 frames for heap, 64 for CPU) get their
//    missing root-side frames copied from another stack that overlaps them by 16 frames.
// The algorithms are reimplemented from their description and upstream behaviour.

import type { LabelPair } from './labels.js';
import type { Profile, Sample } from './profile.js';

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
export function detectLanguage(labels: readonly LabelPair[], p: Profile): string {
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

// Truncated stacks ---------------------------------------------------------------------------

const TOKENS = 8;
const TOKEN_LEN = 16;
/** stacks shorter than this are neither repaired nor used as a reference */
const SUFFIX_LEN = TOKENS + TOKEN_LEN;
const MAX_CHAIN = 56;

const HEAP_TYPES = new Set(['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']);

export function potentialTruncatedGoStacks(p: Profile): boolean {
  const types = p.sampleType.map((t) => p.stringTable[t.type]);
  let minDepth: number;
  let maxDepth = 0;
  if (types.some((t) => HEAP_TYPES.has(t))) {
    minDepth = 32;
    // Go 1.23+ heap profiles go to 128 frames: a longer stack means nothing was truncated.
    maxDepth = 33;
  } else if (types.includes('cpu')) {
    minDepth = 64;
  } else {
    return false;
  }
  minDepth -= 4;
  let deep = false;
  for (const s of p.sample) {
    if (s.locationId.length >= minDepth) deep = true;
    if (maxDepth !== 0 && s.locationId.length >= maxDepth) return false;
  }
  return deep;
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
  // Samples long enough, ordered by their root-side suffix; groups share a suffix.
  const samples: Sample[] = p.sample.filter((s) => s.locationId.length >= SUFFIX_LEN);
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
