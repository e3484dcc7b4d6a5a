// Test support for the flat model's specs: the object-model algorithms it replaced, kept as a
// readable reference to hold the flat ones equal to (the way pprof-format is the codec's oracle),
// and a generator of small profiles with every kind of oddity (duplicate and dangling ids,
// out-of-range string indices, zero, negative and 64-bit values, numeric labels). Not exported
// from the library's index.
import fc from 'fast-check';
import { addInt64, isNegative, isPositive } from '../normalize.js';
import type { NormalizeOptions, NormalizeStats } from './normalize-flat.js';
import type { Location, Profile, Sample } from '../profile.js';

/**
 * Pyroscope's Normalize: drops non-string sample labels, samples with a negative value or only
 * zero values, merges samples with the same stack and labels (summing values), repairs or drops
 * invalid references, clears addresses of symbolised mappings, then drops every location,
 * function, mapping and string no longer referenced. Sample order is first-seen order (Pyroscope
 * orders by a hash; the order carries no meaning).
 */
export function referenceNormalize(p: Profile, opts: NormalizeOptions = {}): NormalizeStats {
  const stats: NormalizeStats = {
    samplesTotal: p.sample.length,
    sampleValueNegative: 0,
    sampleValueZero: 0,
    sampleDuplicate: 0,
    sampleInvalid: 0,
    locationInvalid: 0,
  };
  if (opts.nowNanos !== undefined && (p.timeNanos === 0 || p.timeNanos === 0n)) {
    p.timeNanos = opts.nowNanos;
  }
  sanitizeReferences(p, stats);

  const kept: Sample[] = [];
  const byKey = new Map<string, Sample>();
  for (const s of p.sample) {
    s.label = s.label.filter((l) => l.str !== 0);
    if (s.value.some(isNegative)) {
      stats.sampleValueNegative++;
      continue;
    }
    if (!s.value.some(isPositive)) {
      stats.sampleValueZero++;
      continue;
    }
    s.label.sort((a, b) => a.key - b.key || a.str - b.str);
    let key = s.locationId.join(',');
    if (s.label.length > 0) key += '|' + s.label.map((l) => `${l.key}=${l.str}`).join(',');
    const prev = byKey.get(key);
    if (prev) {
      for (let j = 0; j < prev.value.length; j++)
        prev.value[j] = addInt64(prev.value[j], s.value[j]);
      stats.sampleDuplicate++;
      continue;
    }
    byKey.set(key, s);
    kept.push(s);
  }
  p.sample = kept;
  clearAddresses(p);
  dropUnused(p);
  return stats;
}

function clearAddresses(p: Profile): void {
  const symbolised = new Set<number>();
  for (const m of p.mapping) {
    if (m.hasFunctions) {
      m.memoryStart = 0;
      m.memoryLimit = 0;
      m.fileOffset = 0;
      symbolised.add(m.id);
    }
  }
  for (const l of p.location) if (symbolised.has(l.mappingId)) l.address = 0;
}

/** `sanitizeProfile`: out-of-range string refs → 0, ids renumbered 1..n, invalid refs dropped. */
function sanitizeReferences(p: Profile, stats: NormalizeStats): void {
  const st = p.stringTable;
  let z = st.indexOf('');
  if (z === -1) {
    z = st.length;
    st.push('');
  }
  if (z !== 0) [st[0], st[z]] = [st[z], st[0]];
  const ms = st.length;
  const str = (i: number): number => {
    if (i === 0 && z > 0) return z;
    if (i === z || i >= ms || i < 0 || !Number.isInteger(i)) return 0;
    return i;
  };
  for (const vt of p.sampleType) {
    vt.type = str(vt.type);
    vt.unit = str(vt.unit);
  }
  if (p.periodType) {
    p.periodType.type = str(p.periodType.type);
    p.periodType.unit = str(p.periodType.unit);
  }
  p.defaultSampleType = str(p.defaultSampleType);
  p.dropFrames = str(p.dropFrames);
  p.keepFrames = str(p.keepFrames);
  p.docUrl = str(p.docUrl);
  p.comment = p.comment.map(str);

  const mappingIds = new Map<number, number>();
  p.mapping.forEach((m, i) => {
    m.buildId = str(m.buildId);
    m.filename = str(m.filename);
    mappingIds.set(m.id, i + 1);
    m.id = i + 1;
  });
  let stub = 0;
  p.location = p.location.filter((l) => {
    if (l.line.length === 0 && (l.address === 0 || l.address === 0n)) {
      stats.locationInvalid++;
      return false;
    }
    if (l.mappingId === 0) {
      if (stub === 0) {
        stub = p.mapping.length + 1;
        p.mapping.push({
          id: stub,
          memoryStart: 0,
          memoryLimit: 0,
          fileOffset: 0,
          filename: 0,
          buildId: 0,
          hasFunctions: false,
          hasFilenames: false,
          hasLineNumbers: false,
          hasInlineFrames: false,
        });
      }
      l.mappingId = stub;
      return true;
    }
    const mid = mappingIds.get(l.mappingId);
    if (mid === undefined) {
      stats.locationInvalid++;
      return false;
    }
    l.mappingId = mid;
    return true;
  });

  const functionIds = new Map<number, number>();
  p.function.forEach((f, i) => {
    f.name = str(f.name);
    f.systemName = str(f.systemName);
    f.filename = str(f.filename);
    functionIds.set(f.id, i + 1);
    f.id = i + 1;
  });
  p.location = p.location.filter((l) => {
    for (const line of l.line) {
      const fid = functionIds.get(line.functionId);
      if (fid === undefined) {
        stats.locationInvalid++;
        return false;
      }
      line.functionId = fid;
    }
    return true;
  });

  const locationIds = new Map<number, number>();
  p.location.forEach((l, i) => {
    locationIds.set(l.id, i + 1);
    l.id = i + 1;
  });
  const vs = p.sampleType.length;
  p.sample = p.sample.filter((s) => {
    if (s.value.length !== vs) {
      stats.sampleInvalid++;
      return false;
    }
    for (let i = 0; i < s.locationId.length; i++) {
      const lid = locationIds.get(s.locationId[i]);
      if (lid === undefined) {
        stats.sampleInvalid++;
        return false;
      }
      s.locationId[i] = lid;
    }
    for (const l of s.label) {
      l.key = str(l.key);
      l.str = str(l.str);
      l.numUnit = str(l.numUnit);
    }
    return true;
  });
}

/**
 * Drops locations, functions, mappings and strings that nothing references, renumbering ids
 * (1-based, in their original order) and string indices (index 0 stays `""`). Safe to call twice.
 */
function dropUnused(p: Profile): void {
  const usedLoc = new Set<number>();
  for (const s of p.sample) for (const id of s.locationId) usedLoc.add(id);
  const locations: Location[] = p.location.filter((l) => usedLoc.has(l.id));
  const locIds = new Map<number, number>();
  locations.forEach((l, i) => {
    locIds.set(l.id, i + 1);
    l.id = i + 1;
  });
  for (const s of p.sample) s.locationId = s.locationId.map((id) => locIds.get(id) ?? 0);
  p.location = locations;

  const usedFn = new Set<number>();
  const usedMap = new Set<number>();
  for (const l of locations) {
    usedMap.add(l.mappingId);
    for (const line of l.line) usedFn.add(line.functionId);
  }
  const fnIds = new Map<number, number>();
  p.function = p.function.filter((f) => usedFn.has(f.id));
  p.function.forEach((f, i) => {
    fnIds.set(f.id, i + 1);
    f.id = i + 1;
  });
  const mapIds = new Map<number, number>();
  p.mapping = p.mapping.filter((m) => usedMap.has(m.id));
  p.mapping.forEach((m, i) => {
    mapIds.set(m.id, i + 1);
    m.id = i + 1;
  });
  for (const l of locations) {
    l.mappingId = mapIds.get(l.mappingId) ?? 0;
    for (const line of l.line) line.functionId = fnIds.get(line.functionId) ?? 0;
  }

  const st = p.stringTable;
  const used = new Uint8Array(st.length);
  used[0] = 1;
  const mark = (i: number): void => {
    if (i > 0 && i < st.length) used[i] = 1;
  };
  visitStringRefs(p, (i) => {
    mark(i);
    return i;
  });
  const remap = new Int32Array(st.length);
  const table: string[] = [];
  for (let i = 0; i < st.length; i++) {
    if (used[i]) {
      remap[i] = table.length;
      table.push(st[i]);
    }
  }
  if (table.length === st.length) return;
  p.stringTable = table;
  visitStringRefs(p, (i) => (i > 0 && i < st.length ? remap[i] : 0));
}

/** Calls `fn` on every string-table reference of the profile, storing what it returns. */
function visitStringRefs(p: Profile, fn: (i: number) => number): void {
  for (const vt of p.sampleType) {
    vt.type = fn(vt.type);
    vt.unit = fn(vt.unit);
  }
  if (p.periodType) {
    p.periodType.type = fn(p.periodType.type);
    p.periodType.unit = fn(p.periodType.unit);
  }
  for (const s of p.sample) {
    for (const l of s.label) {
      l.key = fn(l.key);
      l.str = fn(l.str);
      l.numUnit = fn(l.numUnit);
    }
  }
  for (const m of p.mapping) {
    m.filename = fn(m.filename);
    m.buildId = fn(m.buildId);
  }
  for (const f of p.function) {
    f.name = fn(f.name);
    f.systemName = fn(f.systemName);
    f.filename = fn(f.filename);
  }
  p.comment = p.comment.map(fn);
  p.dropFrames = fn(p.dropFrames);
  p.keepFrames = fn(p.keepFrames);
  p.defaultSampleType = fn(p.defaultSampleType);
  p.docUrl = fn(p.docUrl);
}

const small = fc.integer({ min: -1, max: 6 });
const int64 = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -3, max: 20 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<number | bigint>(
      9007199254740991,
      -9007199254740991,
      2n ** 60n,
      -(2n ** 62n),
      9007199254740992n,
    ),
  },
);

/** Small profiles, valid or not, with few distinct ids so that duplicates and merges are common. */
export const profileArb: fc.Arbitrary<Profile> = fc.record({
  sampleType: fc.array(fc.record({ type: small, unit: small }), { maxLength: 3 }),
  sample: fc.array(
    fc.record({
      locationId: fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 5 }),
      value: fc.array(int64, { maxLength: 3 }),
      label: fc.array(fc.record({ key: small, str: small, num: int64, numUnit: small }), {
        maxLength: 3,
      }),
    }),
    { maxLength: 12 },
  ),
  mapping: fc.array(
    fc.record({
      id: fc.integer({ min: 0, max: 3 }),
      memoryStart: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(2n ** 63n)),
      memoryLimit: fc.constant(0),
      fileOffset: fc.constant(0),
      filename: small,
      buildId: small,
      hasFunctions: fc.boolean(),
      hasFilenames: fc.boolean(),
      hasLineNumbers: fc.boolean(),
      hasInlineFrames: fc.boolean(),
    }),
    { maxLength: 3 },
  ),
  location: fc.array(
    fc.record({
      id: fc.integer({ min: 0, max: 8 }),
      mappingId: fc.integer({ min: 0, max: 4 }),
      address: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100 }), fc.constant(2n ** 63n)),
      line: fc.array(
        fc.record({ functionId: fc.integer({ min: 0, max: 6 }), line: int64, column: int64 }),
        { maxLength: 3 },
      ),
      isFolded: fc.boolean(),
    }),
    { maxLength: 9 },
  ),
  function: fc.array(
    fc.record({
      id: fc.integer({ min: 0, max: 6 }),
      name: small,
      systemName: small,
      filename: small,
      startLine: int64,
    }),
    { maxLength: 7 },
  ),
  stringTable: fc.array(fc.constantFrom('', 'a', 'b', 'span_id', 'profile_id', 'trace_id', 'x'), {
    maxLength: 7,
  }),
  dropFrames: small,
  keepFrames: small,
  timeNanos: int64,
  durationNanos: int64,
  periodType: fc.option(fc.record({ type: small, unit: small }), { nil: undefined }),
  period: int64,
  comment: fc.array(small, { maxLength: 2 }),
  defaultSampleType: small,
  docUrl: small,
});

export { int64 as int64Arb };
