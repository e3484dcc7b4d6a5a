// `format=speedscope`: the speedscope JSON file format, single or multi profile, sampled or
// evented. Pyroscope: `pkg/og/convert/speedscope/{json,parser,units}.go`; pyroscope-protocol.md
// §5.4. Each (merged) profile becomes one legacy series labelled `profile_name`; with more than
// one, the app name gets the unit as type suffix (`app.seconds` → wall, `app.bytes` → memory).
//
// Go's encoding/json is emulated where it matters: object keys match struct fields case-
// insensitively (the last matching key wins), `null` leaves the zero value, a value of the
// wrong JSON type fails the whole upload, unknown keys are ignored, invalid UTF-8 and lone
// surrogate escapes become U+FFFD. Upstream arithmetic is kept: values are truncated to uint64
// after multiplying by 100 (time units) or 1 (bytes), except evented "open" intervals, which
// upstream adds without the multiplier.

import { DecodeError } from '../decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits, Decoder } from '../decoder.js';
import { StackTree, legacySeries } from '../legacy.js';
import type { StackNode } from '../legacy.js';
import { finishSeries, nowNanos } from '../series-pipeline.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface SFrame {
  name: string;
}

interface SEvent {
  type: string;
  at: number;
  frame: number;
}

interface SProfile {
  type: string;
  name: string;
  unit: string;
  startValue: number;
  events: SEvent[];
  samples: number[][];
  weights: number[];
}

const fail = (msg: string): never => {
  throw new DecodeError('malformed', `speedscope: ${msg}`);
};

function isObject(v: Json): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value of struct field `field`: exact key, else the last case-insensitive match. */
function field(o: { [k: string]: Json }, name: string): Json | undefined {
  let found: Json | undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(o)) {
    if (k.toLowerCase() === lower) found = v;
  }
  return found;
}

function str(o: { [k: string]: Json }, name: string): string {
  const v = field(o, name);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') return fail(`${name}: expected a string`);
  return v.toWellFormed();
}

function num(v: Json | undefined, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`${what}: expected a number`);
  return v;
}

function arr(v: Json | undefined, what: string): Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return fail(`${what}: expected an array`);
  return v;
}

function obj(v: Json, what: string): { [k: string]: Json } | undefined {
  if (v === null) return undefined;
  if (!isObject(v)) return fail(`${what}: expected an object`);
  return v;
}

function parseFile(body: Uint8Array): { schema: string; frames: SFrame[]; profiles: SProfile[] } {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(body);
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch (e) {
    return fail(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const top = obj(root, 'file') ?? {};
  const schema = str(top, '$schema');
  const shared = obj(field(top, 'shared') ?? null, 'shared') ?? {};
  const frames = arr(field(shared, 'frames'), 'frames').map((f) => {
    const o = obj(f, 'frame') ?? {};
    num(field(o, 'line'), 'line');
    num(field(o, 'col'), 'col');
    str(o, 'file');
    return { name: str(o, 'name') };
  });
  const profiles = arr(field(top, 'profiles'), 'profiles').map((pv): SProfile => {
    const o = obj(pv, 'profile') ?? {};
    num(field(o, 'endValue'), 'endValue');
    return {
      type: str(o, 'type'),
      name: str(o, 'name'),
      unit: str(o, 'unit'),
      startValue: num(field(o, 'startValue'), 'startValue'),
      events: arr(field(o, 'events'), 'events').map((ev) => {
        const e = obj(ev, 'event') ?? {};
        return {
          type: str(e, 'type'),
          at: num(field(e, 'at'), 'at'),
          frame: num(field(e, 'frame'), 'frame'),
        };
      }),
      samples: arr(field(o, 'samples'), 'samples').map((s) =>
        arr(s, 'sample').map((x) => num(x, 'sample frame')),
      ),
      weights: arr(field(o, 'weights'), 'weights').map((w) => num(w, 'weight')),
    };
  });
  // Type-check the remaining top-level fields Go would decode.
  str(top, 'name');
  str(top, 'exporter');
  num(field(top, 'activeProfileIndex'), 'activeProfileIndex');
  return { schema, frames, profiles };
}

const TIME_UNITS = new Set(['nanoseconds', 'microseconds', 'milliseconds', 'seconds', 'none']);

/** units.go defaultSampleRate (as Go computes it: uint32 arithmetic that wraps for ns). */
function defaultSampleRate(unit: string): number {
  switch (unit) {
    case 'nanoseconds':
      return Number(BigInt.asUintN(32, 100n * 1000000000n));
    case 'microseconds':
      return 100 * 1000 * 1000;
    case 'milliseconds':
      return 100 * 1000;
    case 'seconds':
      return 100;
    case 'none':
      return 100 * 100;
    case 'bytes':
      return 0;
    default:
      return fail(`invalid profile unit: unknown unit: ${unit}`);
  }
}

function precisionMultiplier(unit: string): bigint {
  if (TIME_UNITS.has(unit)) return 100n;
  if (unit === 'bytes') return 1n;
  return fail(`invalid profile unit: unknown unit: ${unit}`);
}

const TWO64 = 2 ** 64;
const TWO63 = 1n << 63n;

/** Go's `uint64(f)` for a non-negative float64 on amd64. */
function toUint64(f: number): bigint {
  if (f >= TWO64) return TWO63;
  return BigInt(Math.trunc(f));
}

/** Go's `int(f)` on amd64 (out of range gives the minimum int64: always an invalid index). */
function toIndex(f: number): number {
  const t = Math.trunc(f);
  return t >= 2 ** 63 || t < -(2 ** 63) ? -1 : t;
}

function parseEvented(tree: StackTree, p: SProfile, frames: SFrame[]): void {
  let last = p.startValue;
  const indexStack: number[] = [];
  // nodes[k]: the tree node of the open stack's first k+1 frames. Adding at the top node is
  // what inserting the whole open stack does, in O(1) instead of O(depth) per event.
  const nodes: StackNode[] = [];
  const mult = precisionMultiplier(p.unit);
  for (const ev of p.events) {
    if (ev.at < last) fail(`Events out of order, ${ev.at} < ${last}`);
    const fid = toIndex(ev.frame);
    if (fid < 0 || fid >= frames.length) fail(`Invalid frame ${fid}`);
    if (ev.type === 'C') {
      if (indexStack.length === 0) fail(`No stack to close at ${ev.at}`);
      if (indexStack[indexStack.length - 1] !== fid) fail(`Closing non-open frame ${fid}`);
      tree.addAt(nodes[nodes.length - 1], BigInt.asUintN(64, toUint64(ev.at - last) * mult));
      indexStack.pop();
      nodes.pop();
    } else if (ev.type === 'O') {
      // Upstream adds the interval before an open without the precision multiplier.
      if (nodes.length > 0) tree.addAt(nodes[nodes.length - 1], toUint64(ev.at - last));
      indexStack.push(fid);
      nodes.push(
        tree.walk(nodes.length > 0 ? nodes[nodes.length - 1] : tree.root, [frames[fid].name]),
      );
    } else {
      fail(`Unknown event type ${ev.type}`);
    }
    last = ev.at;
  }
}

function parseSampled(tree: StackTree, p: SProfile, frames: SFrame[]): void {
  if (p.samples.length !== p.weights.length) {
    fail(`Unequal lengths of samples and weights: ${p.samples.length} != ${p.weights.length}`);
  }
  const mult = precisionMultiplier(p.unit);
  for (let i = 0; i < p.samples.length; i++) {
    const weight = p.weights[i];
    if (weight < 0) fail(`Negative weight ${weight}`);
    // Upstream accepts fid == len(frames) and then panics on the index: an error here.
    const stack = p.samples[i].map((f) => {
      const fid = toIndex(f);
      if (fid < 0 || fid >= frames.length) fail(`Invalid frame ${fid}`);
      return frames[fid].name;
    });
    tree.insertFrames(stack, BigInt.asUintN(64, toUint64(weight) * mult));
  }
}

/** Profiles with the same (name, type, unit, startValue) merged, then ordered by startValue. */
function mergeProfiles(profiles: SProfile[]): SProfile[] {
  const merged = new Map<string, SProfile>();
  for (const p of profiles) {
    const k = JSON.stringify([p.name, p.type, p.unit, p.startValue === 0 ? 0 : p.startValue]);
    const m = merged.get(k);
    if (m) {
      m.samples.push(...p.samples);
      m.events.push(...p.events);
      m.weights.push(...p.weights);
    } else {
      merged.set(k, {
        ...p,
        samples: [...p.samples],
        events: [...p.events],
        weights: [...p.weights],
      });
    }
  }
  return [...merged.values()].sort((a, b) => a.startValue - b.startValue);
}

export const speedscopeDecoder: Decoder = {
  formats: ['speedscope'],
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[] {
    const file = parseFile(input.body);
    if (file.schema !== SPEEDSCOPE_SCHEMA) fail(`Unknown schema: ${file.schema}`);
    const profiles = mergeProfiles(file.profiles);
    const multi = profiles.length > 1;
    const params = input.params;
    // Parse everything first: any error fails the whole upload before a series is produced.
    const parsed = profiles.map((p) => {
      const appName = multi ? `${params.appName}.${p.unit}` : params.appName;
      const labels = { ...params.labels, profile_name: p.name };
      let sampleRate = params.sampleRate;
      if (sampleRate === 100) sampleRate = defaultSampleRate(p.unit);
      const tree = new StackTree();
      if (p.type === 'evented') parseEvented(tree, p, file.frames);
      else if (p.type === 'sampled') parseSampled(tree, p, file.frames);
      else fail(`Profile type ${p.type} not supported`);
      return { tree, appName, labels, sampleRate };
    });
    const now = nowNanos(input);
    const out: DecodedSeries[] = [];
    for (const x of parsed) {
      const raw = legacySeries(
        x.tree,
        {
          appName: x.appName,
          labels: x.labels,
          spyName: params.spyName,
          sampleRate: x.sampleRate,
          fromNanos: params.fromNanos,
        },
        limits,
      );
      if (raw !== undefined) out.push(...finishSeries(raw, limits, now));
    }
    return out;
  },
};
