import type { FlatProfile, Int64, Profile } from '../../model/index.js';
import {
  emptyFlatProfile,
  flatFunctions,
  flatLocations,
  flatSamples,
  flatToProfile,
  pushFunction,
  pushLabel,
  pushLine,
  pushLocation,
  setInt64,
} from '../../model/index.js';
import { forEachChunk, type JfrChunk } from './chunk-reader.js';
import type { ConstantPools } from './constant-pool.js';
import { anchorMaps } from './anchors.js';
import { NameCache } from './name-cache.js';
import { JfrError, overLimit } from './errors.js';
import type { ByteReader } from './byte-reader.js';
import { EventPlan, type EventCursor, type FieldSpec } from './event-reader.js';
import { TypeTable } from './metadata.js';
import type { ValueWalker } from './value-walker.js';
import {
  FAMILIES,
  F_ALLOC_SAMPLE,
  F_CPU,
  F_IN_TLAB,
  F_LIVE,
  F_LOCK,
  F_MALLOC,
  F_OUT_TLAB,
  F_PARK,
  F_WALL,
  profileTypeIds,
  sortKey,
  type FamilySpec,
  type JfrFamily,
} from './families.js';
import { IdIndex, canonicalId } from './id-index.js';
import {
  decodeLabelsSnapshot,
  emptyLabelsSnapshot,
  type LabelsSnapshot,
} from './labels-snapshot.js';
import { resolveLimits, type JfrLimits } from './limits.js';

export interface JfrInput {
  /** the uncompressed recording (one or more chunks) */
  jfr: Uint8Array;
  /** the uncompressed `labels` part (LabelsSnapshot protobuf); absent = empty snapshot */
  labels?: Uint8Array;
  /** the upload's `from`, ns since epoch: becomes every profile's `timeNanos` */
  startNanos: Int64;
  /** the upload's `until`, ns: `durationNanos = endNanos - startNanos` */
  endNanos: Int64;
  /** the upload's `sampleRate`: CPU and wall values are counts × 1e9/sampleRate (0 → 0) */
  sampleRate: number;
}

/** One produced profile: a series of its own once the ingest labels are added (§1.6.2). */
export interface JfrProfile {
  /** the series' `__name__` (process_cpu, wall, memory, mutex, block) */
  metric: string;
  family: JfrFamily;
  /** `__name__:type:unit:periodType:periodUnit`, one per sample type */
  profileTypeIds: string[];
  /** the recording's `event` setting: the series' `jfr_event` label ('' when absent) */
  jfrEvent: string;
  /**
   * Samples carry the LabelsSnapshot context labels of their event plus `profile_id` (the span id
   * as 16 hex digits) and `span_name`, exactly as jfr-parser emits them; renaming `profile_id` to
   * `span_id` is left to series splitting (§7.1). In the flat model (what the pipeline uses).
   */
  flat: FlatProfile;
  /** `flat` as `Profile` objects, built on first read (a view: changing it changes nothing) */
  readonly profile: Profile;
}

export interface JfrStats {
  chunks: number;
  events: number;
  /** events dropped because their stack trace is not in the pool */
  stacktraceNotFound: number;
  /** frames dropped because their method's class is not in the pool */
  classNotFound: number;
  /** frames dropped because their method is not in the pool */
  methodNotFound: number;
}

export interface JfrDecodeResult {
  /** sorted like jfr-parser's golden files: by `metric_type__unit type__unit` */
  profiles: JfrProfile[];
  jfrEvent: string;
  stats: JfrStats;
}

// Event handlers and the fields they bind (jfr-parser `parser/types/*.go`).
const H_EXEC = 1;
const H_WALL = 2;
const H_IN_TLAB = 3;
const H_OUT_TLAB = 4;
const H_ALLOC_SAMPLE = 5;
const H_MONITOR = 6;
const H_PARK = 7;
const H_LIVE = 8;
const H_MALLOC = 9;
const H_SETTING = 10;

const S_STACK = 0;
const S_STATE = 1;
const S_VALUE = 2;
const S_CTX = 3;
const S_SPAN = 4;
const S_SPAN_NAME = 5;
const NSLOTS = 6;

const stack: FieldSpec = {
  name: 'stackTrace',
  type: 'jdk.types.StackTrace',
  constantPool: true,
  slot: S_STACK,
};
const state: FieldSpec = {
  name: 'state',
  type: 'jdk.types.ThreadState',
  constantPool: true,
  slot: S_STATE,
};
const long = (name: string, slot = S_VALUE): FieldSpec => ({
  name,
  type: 'long',
  constantPool: false,
  slot,
});
const correlation = [
  long('contextId', S_CTX),
  long('spanId', S_SPAN),
  long('spanName', S_SPAN_NAME),
];

const EVENTS: ReadonlyArray<readonly [string, number, readonly FieldSpec[]]> = [
  ['jdk.ExecutionSample', H_EXEC, [stack, state, ...correlation]],
  [
    'profiler.WallClockSample',
    H_WALL,
    [
      stack,
      state,
      { name: 'samples', type: 'int', constantPool: false, slot: S_VALUE },
      ...correlation,
    ],
  ],
  ['jdk.ObjectAllocationInNewTLAB', H_IN_TLAB, [stack, long('tlabSize'), ...correlation]],
  ['jdk.ObjectAllocationOutsideTLAB', H_OUT_TLAB, [stack, long('allocationSize'), ...correlation]],
  ['jdk.ObjectAllocationSample', H_ALLOC_SAMPLE, [stack, long('weight')]],
  ['jdk.JavaMonitorEnter', H_MONITOR, [stack, long('duration'), ...correlation]],
  ['jdk.ThreadPark', H_PARK, [stack, long('duration')]],
  ['profiler.LiveObject', H_LIVE, [stack]],
  ['profiler.Malloc', H_MALLOC, [stack, long('size')]],
  [
    'jdk.ActiveSetting',
    H_SETTING,
    [
      { name: 'name', type: 'java.lang.String', constantPool: false, slot: 0 },
      { name: 'value', type: 'java.lang.String', constantPool: false, slot: 1 },
    ],
  ],
];

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** fills the unused handler slots of the per-chunk plan table */
const NO_PLAN = new EventPlan(
  { id: -1, name: '', superType: '', fields: [] },
  new TypeTable(),
  [],
  NSLOTS,
);

const ST_UNKNOWN = 0;
const ST_SLEEPING = 1;
const ST_RUNNABLE = 2;
const ST_OTHER = 3;

function stateCode(name: string | undefined): number {
  if (name === undefined) return ST_UNKNOWN;
  if (name === 'STATE_SLEEPING') return ST_SLEEPING;
  if (name === 'STATE_RUNNABLE') return ST_RUNNABLE;
  return ST_OTHER;
}

/** Samples of one family, in flat typed arrays (no per-sample objects until `build`). */
class FamilyBuilder {
  n = 0;
  readonly nTypes: number;
  stack = new Int32Array(1024);
  labelSet = new Int32Array(1024);
  vals: Float64Array;
  /** exact int64 sums for value slots that left the safe range (slot marked NaN in `vals`) */
  bigs: Map<number, bigint> | null = null;
  /** per chunk: stack pool slot → sample index + 1, for events without correlation */
  bySlot = new Int32Array(0);
  byKey = new Map<string, number>();
  chunk = -1;

  constructor(
    readonly spec: FamilySpec,
    private readonly maxSamples: number,
  ) {
    this.nTypes = spec.sampleTypes.length;
    this.vals = new Float64Array(1024 * this.nTypes);
  }

  enterChunk(chunk: number, slots: number): void {
    if (this.chunk === chunk) return;
    this.chunk = chunk;
    this.bySlot = reuse(this.bySlot, slots);
    this.byKey.clear();
  }

  newSample(stackIdx: number, labelSet: number): number {
    const i = this.n;
    if (i === this.stack.length) {
      if (i >= this.maxSamples)
        throw overLimit(`more than ${this.maxSamples} samples in one profile`);
      const cap = i * 2;
      const s = new Int32Array(cap);
      s.set(this.stack);
      this.stack = s;
      const l = new Int32Array(cap);
      l.set(this.labelSet);
      this.labelSet = l;
      const v = new Float64Array(cap * this.nTypes);
      v.set(this.vals);
      this.vals = v;
    }
    this.stack[i] = stackIdx;
    this.labelSet[i] = labelSet;
    this.n = i + 1;
    return i;
  }

  /** Adds safe-integer values; falls back to exact int64 arithmetic when a sum leaves the range. */
  add(i: number, a: number, b: number): void {
    const base = i * this.nTypes;
    const vals = this.vals;
    const s = vals[base] + a;
    if (s <= MAX_SAFE && s >= -MAX_SAFE) vals[base] = s;
    else this.addExact(base, BigInt(a));
    if (this.nTypes > 1) {
      const t = vals[base + 1] + b;
      if (t <= MAX_SAFE && t >= -MAX_SAFE) vals[base + 1] = t;
      else this.addExact(base + 1, BigInt(b));
    }
  }

  addBig(i: number, a: bigint, b: bigint): void {
    const base = i * this.nTypes;
    this.addExact(base, a);
    if (this.nTypes > 1) this.addExact(base + 1, b);
  }

  private addExact(slot: number, v: bigint): void {
    if (this.bigs === null) this.bigs = new Map();
    const cur = this.bigs.get(slot) ?? BigInt(this.vals[slot]);
    // int64 wrap-around, as Go's += on int64 does
    this.bigs.set(slot, BigInt.asIntN(64, cur + v));
    this.vals[slot] = NaN;
  }

  value(slot: number): Int64 {
    const v = this.vals[slot];
    if (v === v) return v;
    const b = (this.bigs as Map<number, bigint>).get(slot) as bigint;
    return b >= BigInt(-MAX_SAFE) && b <= BigInt(MAX_SAFE) ? Number(b) : b;
  }
}

/**
 * Converts a JFR recording into one pprof Profile per event family, reproducing Pyroscope's
 * jfr-parser conversion (`pprof/parser.go`, `pprof/pprof.go`, `pprof/profile_builder.go`).
 *
 * Deliberate, documented differences that do not change any collapsed stack or value:
 * - functions are interned by name (upstream: per JFR method id), locations by (function, line);
 * - samples merge within a chunk (upstream keys them by the raw stack-trace id across chunks,
 *   which is only right when ids are stable across chunks);
 * - sample labels keep the snapshot's wire order (upstream: Go map order, i.e. random).
 * Upstream quirk kept on purpose: the event "count" value is shared state that a
 * profiler.WallClockSample overwrites with its `samples` and nothing resets (§4.7).
 */
class ProfileMapper {
  private readonly families: Array<FamilyBuilder | undefined> = new Array(FAMILIES.length);
  private readonly limits: JfrLimits;
  private readonly snapshot: LabelsSnapshot;
  // Both start as doubles: they can exceed the small-integer range (a WallClockSample count, a
  // period for sampleRate < 1), and a field that changes representation later gets the mapper a
  // new hidden class, whose optimised code is discarded at the next GC (see anchors.ts).
  private period = 0.5;
  private event = '';
  /** `event === 'wall'`, tested per execution sample */
  private wallMode = false;
  private count = 0.5;
  readonly stats: JfrStats = {
    chunks: 0,
    events: 0,
    stacktraceNotFound: 0,
    classNotFound: 0,
    methodNotFound: 0,
  };

  // Symbol tables shared by all chunks and all families.
  private readonly funcNames: string[] = [];
  private readonly funcByName = new Map<string, number>();
  private readonly names: NameCache;
  private readonly buf: Uint8Array;
  /** per name-cache entry: this decode's function index + 1 (0 = not yet used here) */
  private entryFunc = new Int32Array(1024);
  private locFunc = new Int32Array(1024);
  private locLine = new Float64Array(1024);
  private nLocs = 0;
  /** per location: next location of the same function + 1 (0 = end) */
  private locNext = new Int32Array(1024);
  /** per function: first location + 1 (0 = none) */
  private funcFirstLoc = new Int32Array(1024);
  /**
   * Location ids of the resolved stacks, one segment per chunk, sized from the chunk's frame count
   * (no copying as a decode grows); `stackLocs` is the current chunk's segment.
   */
  private readonly segments: Int32Array[] = [];
  private stackLocs = new Int32Array(0);
  private nStackLocs = 0;
  /** per global stack: its segment, its start in it, its length */
  private stackSeg = new Int32Array(1024);
  private stackStart = new Int32Array(1024);
  private stackLen = new Int32Array(1024);
  private nStacks = 0;

  // Label sets: index 0 is "no labels".
  private readonly labelSets: Array<ReadonlyArray<readonly [string, string]>> = [[]];
  private readonly labelSetByKey = new Map<string, number>();
  private zeroLabelSet = -1;

  // Per-chunk state.
  private chunkIndex = -1;
  private pools!: ConstantPools;
  private stackResolved = new Int32Array(0);
  private methodFunc = new Int32Array(0);
  private methodLastLine = new Float64Array(0);
  private methodLastLoc = new Int32Array(0);
  /** thread-state pool id → ST_* for ids below 256 */
  private stateCodes = new Int8Array(0);
  /** this chunk's stack-trace pool index and size (hoisted off the per-event path) */
  private stackIndex = new IdIndex();
  private stackCount = 0;
  /** per class slot: 0 = not looked at, 1 = raw name cached, 2 = name not inline */
  private classState = new Int8Array(0);
  private classSym: Array<number | bigint> = [];
  private classStart = new Int32Array(0);
  private classEnd = new Int32Array(0);
  private classEnc = new Int32Array(0);
  private classHash = new Int32Array(0);

  constructor(
    private readonly input: JfrInput,
    limits?: Partial<JfrLimits>,
    names?: NameCache,
  ) {
    this.limits = resolveLimits(limits);
    this.buf = new Uint8Array(input.jfr.buffer, input.jfr.byteOffset, input.jfr.byteLength);
    this.names = names ?? new NameCache();
    this.names.beginDecode();
    this.snapshot =
      input.labels !== undefined && input.labels.length > 0
        ? decodeLabelsSnapshot(input.labels)
        : emptyLabelsSnapshot();
    const rate = input.sampleRate;
    this.period = rate === 0 || !Number.isFinite(rate) ? 0 : Math.trunc(1e9 / Math.trunc(rate));
    this.count = 1;
  }

  run(): JfrDecodeResult {
    const profiles: JfrProfile[] = [];
    try {
      forEachChunk(this.input.jfr, this.limits, this);
      for (const b of this.families) {
        if (b === undefined) continue;
        profiles.push(
          jfrProfile({
            metric: b.spec.metric,
            family: b.spec.family,
            profileTypeIds: profileTypeIds(b.spec),
            jfrEvent: this.event,
            flat: this.build(b),
          }),
        );
      }
    } finally {
      // the last chunk's pools hold every chunk's tables (they are reused): done with them all
      if (this.pools !== undefined) this.pools.release();
    }
    profiles.sort((a, b) => {
      const ka = sortKey(FAMILIES.find((f) => f.family === a.family) as FamilySpec);
      const kb = sortKey(FAMILIES.find((f) => f.family === b.family) as FamilySpec);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    return { profiles, jfrEvent: this.event, stats: this.stats };
  }

  /** ChunkVisitor: maps one chunk's events (called by forEachChunk). */
  onChunk(chunk: JfrChunk): void {
    const { types, pools, events, reader, walker } = chunk;
    this.stats.chunks++;
    this.chunkIndex = chunk.index;
    this.pools = pools;
    // Per-chunk tables reuse the previous chunk's storage (zeroed): fewer ArrayBuffers, less GC.
    this.stackResolved = reuse(this.stackResolved, pools.stackTraces.count);
    this.stackIndex = pools.stackTraces.index;
    this.stackCount = pools.stackTraces.count;
    this.stackLocs = new Int32Array(pools.frameTotal >= 0 ? pools.frameTotal : 4096);
    this.nStackLocs = 0;
    this.segments.push(this.stackLocs);
    const nm = pools.methods.count;
    this.methodFunc = reuse(this.methodFunc, nm);
    this.methodLastLine = reuse64(this.methodLastLine, nm, -1);
    this.methodLastLoc = reuse(this.methodLastLoc, nm);
    const nc = pools.classes.count;
    if (this.classState.length < nc) this.classState = new Int8Array(nc);
    else this.classState.fill(0, 0, nc);
    this.classSym = new Array<number | bigint>(nc).fill(0);
    this.classStart = reuse(this.classStart, nc);
    this.classEnd = reuse(this.classEnd, nc);
    this.classEnc = reuse(this.classEnc, nc);
    this.classHash = reuse(this.classHash, nc);

    this.stateCodes = new Int8Array(256);
    for (const [id, name] of pools.threadStates) {
      if (typeof id === 'number' && id < this.stateCodes.length)
        this.stateCodes[id] = stateCode(name);
    }

    const plans: Array<EventPlan | undefined> = new Array(H_SETTING + 1);
    let maxId = 0;
    const handlerOf = new Map<number, number>();
    for (const [name, handler, specs] of EVENTS) {
      const cls = types.byName.get(name);
      if (cls === undefined || cls.id < 2) continue;
      plans[handler] = new EventPlan(cls, types, specs, NSLOTS);
      handlerOf.set(cls.id, handler);
      if (cls.id > maxId) maxId = cls.id;
    }
    const dense = maxId < 1 << 16;
    const dispatch = new Int8Array(dense ? maxId + 1 : 0);
    if (dense) for (const [id, h] of handlerOf) dispatch[id] = h;
    // no holes: a dense array of one class keeps the loop's element loads monomorphic
    for (let h = 0; h < plans.length; h++) if (plans[h] === undefined) plans[h] = NO_PLAN;

    this.drain(events, reader, walker, dispatch, handlerOf, plans as EventPlan[]);
  }

  /** The event loop of one chunk, kept small so V8 optimises it as a whole. */
  private drain(
    events: EventCursor,
    reader: ByteReader,
    walker: ValueWalker,
    dispatch: Int8Array,
    handlerOf: Map<number, number>,
    plans: EventPlan[],
  ): void {
    const dense = dispatch.length > 0;
    let count = 0;
    for (;;) {
      const type = events.next(reader);
      if (type < 0) break;
      count++;
      const h = dense ? (type < dispatch.length ? dispatch[type] : 0) : (handlerOf.get(type) ?? 0);
      if (h === 0) continue;
      const plan = plans[h];
      plan.read(reader, walker);
      this.handle(h, plan);
    }
    this.stats.events += count;
  }

  private handle(h: number, plan: EventPlan): void {
    const v = plan.vals;
    switch (h) {
      case H_EXEC: {
        const st = this.threadState(plan);
        if (st !== ST_UNKNOWN && st !== ST_SLEEPING) this.addScaled(F_CPU, plan, true);
        if (this.wallMode) this.addScaled(F_WALL, plan, true);
        return;
      }
      case H_WALL: {
        const samples = v[S_VALUE];
        this.count = samples >= 0 ? samples >>> 0 : Number(BigInt.asUintN(32, plan.bigs[S_VALUE]));
        const st = this.threadState(plan);
        if (st === ST_RUNNABLE && this.wallMode) this.addScaled(F_CPU, plan, true);
        this.addScaled(F_WALL, plan, true);
        return;
      }
      case H_IN_TLAB:
        return this.addPair(F_IN_TLAB, plan, true);
      case H_OUT_TLAB:
        return this.addPair(F_OUT_TLAB, plan, true);
      case H_ALLOC_SAMPLE:
        return this.addPair(F_ALLOC_SAMPLE, plan, false);
      case H_MONITOR:
        return this.addPair(F_LOCK, plan, true);
      case H_PARK:
        return this.addPair(F_PARK, plan, false);
      case H_LIVE:
        return this.addPair(F_LIVE, plan, false);
      case H_MALLOC:
        return this.addPair(F_MALLOC, plan, false);
      case H_SETTING:
        if (plan.strs[0] === 'event') {
          this.event = plan.strs[1];
          this.wallMode = this.event === 'wall';
        }
        return;
    }
  }

  /** The event's thread state as ST_* (per-chunk table for small ids, the pool's Map otherwise). */
  private threadState(plan: EventPlan): number {
    const id = plan.vals[S_STATE];
    if (id >= 0 && id < this.stateCodes.length) return this.stateCodes[id];
    return stateCode(this.pools.threadState(id >= 0 ? id : plan.bigs[S_STATE]));
  }

  /** CPU/wall: the shared count × period. */
  private addScaled(family: number, plan: EventPlan, correlated: boolean): void {
    const a = this.count * this.period;
    if (a <= MAX_SAFE && a >= -MAX_SAFE) this.addSample(family, plan, correlated, a, 0);
    else
      this.addSampleBig(
        family,
        plan,
        correlated,
        BigInt.asIntN(64, BigInt(this.count) * BigInt(this.period)),
        0n,
      );
  }

  /** Two-valued families: (shared count, the event's value as int64). */
  private addPair(family: number, plan: EventPlan, correlated: boolean): void {
    const b = plan.vals[S_VALUE];
    if (b >= 0) this.addSample(family, plan, correlated, this.count, b);
    else
      this.addSampleBig(
        family,
        plan,
        correlated,
        BigInt(this.count),
        BigInt.asIntN(64, plan.bigs[S_VALUE]),
      );
  }

  private addSampleBig(
    family: number,
    plan: EventPlan,
    correlated: boolean,
    a: bigint,
    b: bigint,
  ): void {
    const i = this.sampleIndex(family, plan, correlated);
    if (i >= 0) (this.families[family] as FamilyBuilder).addBig(i, a, b);
  }

  private addSample(
    family: number,
    plan: EventPlan,
    correlated: boolean,
    a: number,
    b: number,
  ): void {
    const i = this.sampleIndex(family, plan, correlated);
    if (i >= 0) (this.families[family] as FamilyBuilder).add(i, a, b);
  }

  /** The sample this event adds to (created on first use), or -1 when its stack is unknown. */
  private sampleIndex(family: number, plan: EventPlan, correlated: boolean): number {
    let fb = this.families[family];
    if (fb === undefined) {
      // Created before the stack lookup, as upstream: a family whose every stack is missing
      // still yields an (empty) profile.
      fb = new FamilyBuilder(FAMILIES[family], this.limits.maxSamplesPerProfile);
      this.families[family] = fb;
    }
    if (fb.chunk !== this.chunkIndex) fb.enterChunk(this.chunkIndex, this.stackCount);
    const v = plan.vals;
    const sid = v[S_STACK];
    const slot = sid >= 0 ? this.stackIndex.get(sid) : this.stackIndex.getAny(plan.bigs[S_STACK]);
    if (slot < 0) {
      this.stats.stacktraceNotFound++;
      return -1;
    }
    if (!correlated || (v[S_CTX] === 0 && v[S_SPAN] === 0 && v[S_SPAN_NAME] === 0)) {
      const known = fb.bySlot[slot];
      if (known !== 0) return known - 1;
      if (this.zeroLabelSet < 0) this.zeroLabelSet = this.labelSetFor(0, 0, 0);
      const i = fb.newSample(this.resolveStack(slot), this.zeroLabelSet);
      fb.bySlot[slot] = i + 1;
      return i;
    }
    const ctx = exact(v[S_CTX], plan.bigs[S_CTX]);
    const span = exact(v[S_SPAN], plan.bigs[S_SPAN]);
    const spanName = exact(v[S_SPAN_NAME], plan.bigs[S_SPAN_NAME]);
    const key = `${slot}|${ctx}|${span}|${spanName}`;
    const known = fb.byKey.get(key);
    if (known !== undefined) return known;
    const i = fb.newSample(this.resolveStack(slot), this.labelSetFor(ctx, span, spanName));
    fb.byKey.set(key, i);
    return i;
  }

  /** The labels jfr-parser attaches for a correlation (`AddExternalSampleWithLabels`). */
  private labelSetFor(
    ctx: number | bigint,
    span: number | bigint,
    spanName: number | bigint,
  ): number {
    const key = `${ctx}|${span}|${spanName}`;
    const known = this.labelSetByKey.get(key);
    if (known !== undefined) return known;
    const labels: Array<readonly [string, string]> = [];
    const strings = this.snapshot.strings;
    const context = this.snapshot.contexts.get(toInt64(ctx));
    if (context !== undefined) {
      for (const [k, val] of context) labels.push([strings.get(k) ?? '', strings.get(val) ?? '']);
    }
    if (span !== 0) labels.push(['profile_id', span.toString(16).padStart(16, '0')]);
    if (spanName !== 0) {
      const name = strings.get(toInt64(spanName)) ?? '';
      if (name !== '') labels.push(['span_name', name]);
    }
    const idx = labels.length === 0 ? 0 : this.labelSets.push(labels) - 1;
    this.labelSetByKey.set(key, idx);
    return idx;
  }

  /** Resolves a chunk's stack trace to global location ids once; returns its global stack index. */
  private resolveStack(slot: number): number {
    const done = this.stackResolved[slot];
    if (done !== 0) return done - 1;
    const pools = this.pools;
    const n = pools.readFrames(slot);
    if (this.nStackLocs + n > this.stackLocs.length) {
      let cap = Math.max(4096, this.stackLocs.length * 2);
      while (cap < this.nStackLocs + n) cap *= 2;
      const s = new Int32Array(cap);
      s.set(this.stackLocs.subarray(0, this.nStackLocs));
      this.stackLocs = s;
      this.segments[this.segments.length - 1] = s;
    }
    const start = this.nStackLocs;
    let w = start;
    const methods = pools.methods.index;
    const fm = pools.frameMethod;
    const fl = pools.frameLine;
    const methodFunc = this.methodFunc;
    const lastLine = this.methodLastLine;
    const lastLoc = this.methodLastLoc;
    const out = this.stackLocs;
    for (let i = 0; i < n; i++) {
      const mid = fm[i];
      const mslot = mid >= 0 ? methods.get(mid) : methods.getAny(pools.frameMethodBig[i]);
      if (mslot < 0) {
        this.stats.methodNotFound++;
        continue;
      }
      let f = methodFunc[mslot];
      if (f === 0) {
        f = this.resolveMethod(mslot);
        methodFunc[mslot] = f;
      }
      if (f < 0) {
        this.stats.classNotFound++;
        continue;
      }
      const line = fl[i];
      let loc: number;
      if (lastLine[mslot] === line) {
        loc = lastLoc[mslot];
      } else {
        loc = this.location(f - 1, line);
        lastLine[mslot] = line;
        lastLoc[mslot] = loc;
      }
      out[w++] = loc;
    }
    this.nStackLocs = w;
    const s = this.nStacks;
    if (s === this.stackStart.length) {
      const g = new Int32Array(s * 2);
      g.set(this.stackSeg);
      this.stackSeg = g;
      const a = new Int32Array(s * 2);
      a.set(this.stackStart);
      this.stackStart = a;
      const b = new Int32Array(s * 2);
      b.set(this.stackLen);
      this.stackLen = b;
    }
    this.stackSeg[s] = this.segments.length - 1;
    this.stackStart[s] = start;
    this.stackLen[s] = w - start;
    this.nStacks = s + 1;
    this.stackResolved[slot] = s + 1;
    return s;
  }

  /** function index + 1, or -1 when the method's class is unknown (frame dropped). */
  private resolveMethod(mslot: number): number {
    const pools = this.pools;
    pools.readMethod(mslot);
    const ids = pools.methodIds;
    const nameSym = ids[1] >= 0 ? ids[1] : pools.methodBig[1];
    const cslot =
      ids[0] >= 0
        ? pools.classes.index.get(ids[0])
        : pools.classes.index.getAny(pools.methodBig[0]);
    if (cslot < 0) return -1;
    // Per class and chunk: its name symbol and, when stored inline, the raw bytes and their hash.
    let cstate = this.classState[cslot];
    if (cstate === 0) {
      const sym = pools.classNameSymbolAt(cslot);
      this.classSym[cslot] = sym;
      const enc = pools.symbolRaw(sym);
      if (enc >= 0) {
        cstate = 1;
        this.classStart[cslot] = pools.rawStart;
        this.classEnd[cslot] = pools.rawEnd;
        this.classEnc[cslot] = enc;
        this.classHash[cslot] = this.names.classHash(this.buf, pools.rawStart, pools.rawEnd);
      } else {
        cstate = 2;
      }
      this.classState[cslot] = cstate;
    }
    // Fast path: the same raw names were seen in an earlier chunk (or under another id).
    const nenc = pools.symbolRaw(nameSym);
    const ns = pools.rawStart;
    const ne = pools.rawEnd;
    const cacheable = cstate === 1 && nenc >= 0;
    const cs = this.classStart[cslot];
    const ce = this.classEnd[cslot];
    const encs = (this.classEnc[cslot] << 8) | nenc;
    if (cacheable) {
      const e = this.names.find(this.buf, this.classHash[cslot], cs, ce, ns, ne, encs);
      if (e >= 0) {
        const known = e < this.entryFunc.length ? this.entryFunc[e] : 0;
        return known !== 0 ? known : this.noteEntry(e, this.intern(this.names.name(e)));
      }
    }
    const name = `${pools.symbol(this.classSym[cslot])}.${pools.symbol(nameSym)}`;
    const f = this.intern(name);
    if (cacheable) return this.noteEntry(this.names.add(this.buf, cs, ce, ns, ne, encs, name), f);
    return f + 1;
  }

  /** Remembers that name-cache entry `e` is this decode's function `f`; returns its id (f + 1). */
  private noteEntry(e: number, f: number): number {
    if (e >= this.entryFunc.length) {
      const a = new Int32Array(Math.max(e + 1, this.entryFunc.length * 2));
      a.set(this.entryFunc);
      this.entryFunc = a;
    }
    this.entryFunc[e] = f + 1;
    return f + 1;
  }

  /** This decode's function index for a name (interned: functions are keyed by name). */
  private intern(name: string): number {
    let f = this.funcByName.get(name);
    if (f === undefined) {
      f = this.funcNames.length;
      this.funcNames.push(name);
      this.funcByName.set(name, f);
      if (f === this.funcFirstLoc.length) {
        const a = new Int32Array(f * 2);
        a.set(this.funcFirstLoc);
        this.funcFirstLoc = a;
      }
    }
    return f;
  }

  /** Location id for (function, line): a short chain per function, no hashing, no allocation. */
  private location(func: number, line: number): number {
    for (let loc = this.funcFirstLoc[func] - 1; loc >= 0; loc = this.locNext[loc] - 1) {
      if (this.locLine[loc] === line) return loc;
    }
    const loc = this.nLocs;
    if (loc === this.locFunc.length) {
      const f = new Int32Array(loc * 2);
      f.set(this.locFunc);
      this.locFunc = f;
      const l = new Float64Array(loc * 2);
      l.set(this.locLine);
      this.locLine = l;
      const n = new Int32Array(loc * 2);
      n.set(this.locNext);
      this.locNext = n;
    }
    this.locFunc[loc] = func;
    this.locLine[loc] = line;
    this.locNext[loc] = this.funcFirstLoc[func];
    this.funcFirstLoc[func] = loc + 1;
    this.nLocs = loc + 1;
    return loc;
  }

  /** Materialises one family's profile: only the functions/locations its samples use. */
  private build(fb: FamilyBuilder): FlatProfile {
    const p = emptyFlatProfile();
    const strings = new Map<string, number>([['', 0]]);
    const str = (s: string): number => {
      let i = strings.get(s);
      if (i === undefined) {
        i = p.stringTable.length;
        p.stringTable.push(s);
        strings.set(s, i);
      }
      return i;
    };
    for (const [t, u] of fb.spec.sampleTypes) p.sampleType.push({ type: str(t), unit: str(u) });
    if (fb.spec.periodType !== undefined) {
      p.periodType = { type: str(fb.spec.periodType[0]), unit: str(fb.spec.periodType[1]) };
    }
    p.timeNanos = canonical(this.input.startNanos);
    p.durationNanos = int64Sub(this.input.endNanos, this.input.startNanos);
    p.period = 0;
    p.mapping.push({
      id: 1,
      memoryStart: 0,
      memoryLimit: 0,
      fileOffset: 0,
      filename: 0,
      buildId: 0,
      hasFunctions: true,
      hasFilenames: false,
      hasLineNumbers: false,
      hasInlineFrames: false,
    });

    const locLocal = new Int32Array(this.nLocs);
    const funcLocal = new Int32Array(this.funcNames.length);
    const nTypes = fb.nTypes;
    let frames = 0;
    for (let i = 0; i < fb.n; i++) frames += this.stackLen[fb.stack[i]];
    const samples = flatSamples(fb.n, frames, fb.n * nTypes, 0);
    p.samples = samples;
    const locations = flatLocations(Math.min(this.nLocs, frames), Math.min(this.nLocs, frames));
    p.locations = locations;
    const functions = flatFunctions(0);
    p.functions = functions;
    const labelCache = new Map<number, ReadonlyArray<readonly [number, number]>>();
    const { loc, locStart, valStart, val } = samples;
    let nl = 0;
    for (let i = 0; i < fb.n; i++) {
      const st = fb.stack[i];
      const seg = this.segments[this.stackSeg[st]];
      const start = this.stackStart[st];
      const len = this.stackLen[st];
      for (let k = 0; k < len; k++) {
        const g = seg[start + k];
        let id = locLocal[g];
        if (id === 0) {
          const gf = this.locFunc[g];
          let fid = funcLocal[gf];
          if (fid === 0) {
            fid = functions.count + 1;
            pushFunction(functions, fid, str(this.funcNames[gf]), 0, 0, 0);
            funcLocal[gf] = fid;
          }
          id = locations.count + 1;
          pushLocation(locations, id, 1, 0, false);
          pushLine(locations, fid, this.locLine[g], 0);
          locLocal[g] = id;
        }
        loc[nl++] = id;
      }
      locStart[i + 1] = nl;
      for (let t = 0; t < nTypes; t++) setInt64(val, i * nTypes + t, fb.value(i * nTypes + t));
      valStart[i + 1] = (i + 1) * nTypes;
      samples.labStart[i + 1] = samples.labStart[i];
      samples.count = i + 1;
      const ls = fb.labelSet[i];
      if (ls !== 0) {
        let pairs = labelCache.get(ls);
        if (pairs === undefined) {
          pairs = this.labelSets[ls].map(([k, v]) => [str(k), str(v)] as const);
          labelCache.set(ls, pairs);
        }
        for (const [k, v] of pairs) pushLabel(samples, k, v, 0, 0);
      }
    }
    return p;
  }
}

anchorMaps(
  new FamilyBuilder(FAMILIES[0], 1),
  new ProfileMapper({ jfr: new Uint8Array(0), startNanos: 0, endNanos: 0, sampleRate: 100 }),
);

/** A JfrProfile whose `profile` view is built from `flat` when first read. */
function jfrProfile(p: Omit<JfrProfile, 'profile'>): JfrProfile {
  let view: Profile | undefined;
  Object.defineProperty(p, 'profile', {
    enumerable: false,
    get: () => (view ??= flatToProfile(p.flat)),
  });
  return p as JfrProfile;
}

/** `a` zeroed over its first `n` entries when large enough, else a new array of `n`. */
function reuse(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (a.length < n) return new Int32Array(Math.max(n, a.length * 2));
  a.fill(0, 0, n);
  return a;
}

function reuse64(
  a: Float64Array<ArrayBuffer>,
  n: number,
  value: number,
): Float64Array<ArrayBuffer> {
  const b = a.length < n ? new Float64Array(Math.max(n, a.length * 2)) : a;
  b.fill(value, 0, n);
  return b;
}

function exact(v: number, big: bigint): number | bigint {
  return v >= 0 ? v : big;
}

/** uint64 → int64 lookup key (Go's `int64(x)`), canonical. */
function toInt64(v: number | bigint): number | bigint {
  return typeof v === 'number' ? v : canonicalId(BigInt.asIntN(64, v));
}

function canonical(v: Int64): Int64 {
  if (typeof v === 'number') return v;
  return v >= BigInt(-MAX_SAFE) && v <= BigInt(MAX_SAFE) ? Number(v) : v;
}

function int64Sub(a: Int64, b: Int64): Int64 {
  if (typeof a === 'number' && typeof b === 'number') {
    const d = a - b;
    if (d <= MAX_SAFE && d >= -MAX_SAFE) return d;
  }
  return canonical(BigInt.asIntN(64, BigInt(a) - BigInt(b)));
}

/**
 * Converts a JFR recording (+ optional labels snapshot) into profiles the way Pyroscope does.
 * Throws `JfrError` (and nothing else) for input it cannot decode. `names`: a `NameCache` the
 * caller keeps across decodes (one per thread: it is not safe to share between concurrent decodes,
 * and the result is the same with or without it); absent, each decode starts an empty one.
 */
export function decodeJfr(
  input: JfrInput,
  limits?: Partial<JfrLimits>,
  names?: NameCache,
): JfrDecodeResult {
  try {
    return new ProfileMapper(input, limits, names).run();
  } catch (e) {
    if (e instanceof JfrError) throw e;
    // Safety net for the contract "nothing but JfrError escapes" (e.g. an allocation failure on a
    // pathological input). The fuzz tests assert it never fires: `cause` marks such a conversion.
    throw new JfrError('malformed', `JFR decoding failed: ${String(e)}`, -1, e);
  }
}

/** `decodeJfr(...).profiles`. */
export function jfrToProfiles(input: JfrInput, limits?: Partial<JfrLimits>): JfrProfile[] {
  return decodeJfr(input, limits).profiles;
}
