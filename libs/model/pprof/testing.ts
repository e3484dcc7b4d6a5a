// Test support for the pprof codec specs: an independent protobuf wire builder (BigInt based,
// sharing no code with the codec under test) and normalisers that turn our Profile and
// pprof-format's Profile into one comparable shape. Not exported from the library's index.
import type { Profile as PprofFormatProfile } from 'pprof-format';
import type { Int64, Profile } from '../profile.js';

/** Bytes of a varint of v, as 64-bit two's complement (so negatives take ten bytes). */
export function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x > 127n) {
    out.push(Number(x & 127n) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

export const wire = {
  tag: (field: number, wireType: number): number[] => varint(BigInt(field) * 8n + BigInt(wireType)),
  /** varint field */
  v: (field: number, value: number | bigint): number[] => [...wire.tag(field, 0), ...varint(value)],
  /** length-delimited field */
  len: (field: number, bytes: readonly number[]): number[] => [
    ...wire.tag(field, 2),
    ...varint(bytes.length),
    ...bytes,
  ],
  str: (field: number, s: string): number[] => wire.len(field, [...new TextEncoder().encode(s)]),
  packed: (field: number, values: ReadonlyArray<number | bigint>): number[] =>
    wire.len(
      field,
      values.flatMap((x) => varint(x)),
    ),
  fixed64: (field: number): number[] => [...wire.tag(field, 1), 1, 2, 3, 4, 5, 6, 7, 8],
  fixed32: (field: number): number[] => [...wire.tag(field, 5), 1, 2, 3, 4],
};

export const bytes = (...parts: number[][]): Uint8Array => new Uint8Array(parts.flat());

const n = (x: number | bigint | boolean): bigint | boolean =>
  typeof x === 'boolean' ? x : BigInt.asIntN(64, BigInt(x));

/**
 * A comparable view of a profile: every integer as a signed 64-bit bigint (pprof-format mixes
 * numbers and BigInts and reads negatives as unsigned; BigInt.asIntN(64) makes both sides agree).
 */
export interface Normalised {
  sampleType: unknown[];
  sample: unknown[];
  mapping: unknown[];
  location: unknown[];
  function: unknown[];
  stringTable: string[];
  scalars: unknown[];
  periodType: unknown;
  comment: unknown[];
}

export function normaliseOurs(p: Profile): Normalised {
  return {
    sampleType: p.sampleType.map((v) => [n(v.type), n(v.unit)]),
    sample: p.sample.map((s) => [
      s.locationId.map(n),
      s.value.map(n),
      s.label.map((l) => [n(l.key), n(l.str), n(l.num), n(l.numUnit)]),
    ]),
    mapping: p.mapping.map((m) =>
      [
        m.id,
        m.memoryStart,
        m.memoryLimit,
        m.fileOffset,
        m.filename,
        m.buildId,
        m.hasFunctions,
        m.hasFilenames,
        m.hasLineNumbers,
        m.hasInlineFrames,
      ].map(n),
    ),
    location: p.location.map((l) => [
      n(l.id),
      n(l.mappingId),
      n(l.address),
      l.line.map((ln) => [n(ln.functionId), n(ln.line), n(ln.column)]),
      l.isFolded,
    ]),
    function: p.function.map((f) => [f.id, f.name, f.systemName, f.filename, f.startLine].map(n)),
    stringTable: p.stringTable,
    scalars: [
      p.dropFrames,
      p.keepFrames,
      p.timeNanos,
      p.durationNanos,
      p.period,
      p.defaultSampleType,
      p.docUrl,
    ].map(n),
    periodType: p.periodType ? [n(p.periodType.type), n(p.periodType.unit)] : undefined,
    comment: p.comment.map(n),
  };
}

export function normaliseTheirs(p: PprofFormatProfile): Normalised {
  return {
    sampleType: p.sampleType.map((v) => [n(v.type), n(v.unit)]),
    sample: p.sample.map((s) => [
      s.locationId.map(n),
      s.value.map(n),
      s.label.map((l) => [n(l.key), n(l.str), n(l.num), n(l.numUnit)]),
    ]),
    mapping: p.mapping.map((m) =>
      [
        m.id,
        m.memoryStart,
        m.memoryLimit,
        m.fileOffset,
        m.filename,
        m.buildId,
        m.hasFunctions,
        m.hasFilenames,
        m.hasLineNumbers,
        m.hasInlineFrames,
      ].map(n),
    ),
    location: p.location.map((l) => [
      n(l.id),
      n(l.mappingId),
      n(l.address),
      l.line.map((ln) => [n(ln.functionId), n(ln.line), n(ln.column)]),
      l.isFolded,
    ]),
    function: p.function.map((f) => [f.id, f.name, f.systemName, f.filename, f.startLine].map(n)),
    stringTable: p.stringTable.strings,
    scalars: [
      p.dropFrames,
      p.keepFrames,
      p.timeNanos,
      p.durationNanos,
      p.period,
      p.defaultSampleType,
      p.docUrl,
    ].map(n),
    periodType: p.periodType ? [n(p.periodType.type), n(p.periodType.unit)] : undefined,
    comment: p.comment.map(n),
  };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The model's Int64 rule: a number exactly when the value is a safe integer. */
export function followsInt64Rule(v: Int64): boolean {
  if (typeof v === 'number') return Number.isSafeInteger(v);
  return v > MAX_SAFE || v < -MAX_SAFE;
}

/** Every Int64 and id in `p`, for checking the representation rule. */
export function* int64Values(p: Profile): Generator<Int64> {
  for (const s of p.sample) {
    yield* s.value;
    yield* s.locationId;
    for (const l of s.label) yield l.num;
  }
  for (const m of p.mapping) {
    yield m.id;
    yield m.memoryStart;
    yield m.memoryLimit;
    yield m.fileOffset;
  }
  for (const l of p.location) {
    yield l.id;
    yield l.address;
    for (const ln of l.line) {
      yield ln.line;
      yield ln.column;
    }
  }
  for (const f of p.function) yield f.startLine;
  yield p.timeNanos;
  yield p.durationNanos;
  yield p.period;
}
