import {
  decodeUploadEach,
  isDecodeError,
  type DecodeInput,
  type DecodeLimits,
  type FormPart,
  type PushSeriesInput,
} from '../../decoders/index.js';
import {
  PermanentError,
  compactFlat,
  compileRelabelRules,
  encodeCompact,
  profileTypeIds,
  sampleTypesWithValues,
  type FlatProfile,
  type Int64,
  type LabelPair,
  type RelabelRuleConfig,
} from '../../model/index.js';
import { encodePprofFlat, splitPprof } from '../../model/pprof/index.js';
import {
  decodePushBody,
  handedInflate,
  inflateBounded,
  isGzip,
  isProtocolError,
  negotiatePush,
  parseBoundary,
  readMultipart,
  type IngestParams,
  type UploadFormat,
} from '../../protocol/index.js';
import type { InflatedUpload } from '../../queue/index.js';
import { SeriesEnricher, type EnrichRules } from './enrichment.js';

// The CPU-heavy part of the decode stage as one plain-data function: raw upload in, encoded
// series out. It runs inline for small uploads and in a worker thread for large ones
// (decode.worker.ts), so its input and output are structured-clone friendly and it never
// throws: a failure comes back as `{ error }` with its discard reason, because custom error
// fields do not survive the trip between threads.

export interface DecodeTaskUpload {
  uploadId: string;
  tenant: string;
  format: UploadFormat;
  contentType: string;
  contentEncoding: string;
  params: IngestParams;
  receivedAtMs: number;
  body: Uint8Array;
  /** the profiles ingest counted in the body (RawUpload.profiles; absent: one) */
  profiles?: number;
  /** what ingest in this process inflated already (RawUpload.inflated); read-only */
  inflated?: InflatedUpload;
}

export interface DecodeTaskRules {
  globalTags: Record<string, string>;
  relabel: RelabelRuleConfig[];
  sampleRelabel: RelabelRuleConfig[];
}

export interface DecodeTask {
  upload: DecodeTaskUpload;
  limits: DecodeLimits;
  /** bound for inflating a Content-Encoding: gzip body */
  maxBodyBytes: number;
  /** a series whose pprof is larger is split into parts of at most this many bytes */
  maxPartBytes: number;
  /**
   * Return each series' decoded (flat) profile with its bytes: set when the consumer of the
   * normalised records runs in this process (the in-process queue hands it over as is).
   */
  keepProfile?: boolean;
  /**
   * Build each one-part series' embedded-store form (model/compact: encodeCompact(compactFlat))
   * and return it with the bytes: set when the store runs in this process and the decode runs on
   * a worker, so the main thread only writes the row. Bytes move between threads for free; the
   * flat profile's string tables would have to be cloned.
   */
  keepCompact?: boolean;
  rules: DecodeTaskRules;
  /**
   * Decode one unit of a Push only: its samples `first` to `first + count - 1` in request order,
   * their series numbered from `indexBase` (the series the earlier units emitted, so the ids are
   * those of a whole decode). `upload.inflated.pprofs` then holds the unit's handovers only
   * (entry 0 is sample `first`). The request's decompressed-size limit holds across the units
   * (bytesBefore). Ignored for other formats.
   */
  unit?: DecodeUnit;
}

export interface DecodeUnit {
  first: number;
  count: number;
  indexBase: number;
  /** the decompressed bytes of the earlier units' samples (the last result's inflatedBytes) */
  bytesBefore: number;
}

export interface EncodedSeries {
  /** index of the series in the decoded upload: part of the deterministic series id */
  index: number;
  labels: LabelPair[];
  profileTypeIds: string[];
  startMs: number;
  endMs: number;
  /**
   * The series' pprof: one element, or the parts of a series larger than maxPartBytes
   * (splitPprof: deterministic, every sample in exactly one part).
   */
  parts: Uint8Array[];
  /** the normalised profile the one part encodes, when the task asked for it (keepProfile) */
  profile?: FlatProfile;
  /** the embedded store's compact form of that profile, when the task asked for it (keepCompact) */
  compact?: Uint8Array;
}

export type DecodeTaskResult =
  | {
      series: EncodedSeries[];
      /** protected labels restored after relabelling */
      repairs: number;
      droppedSamples: number;
      /** series dropped by relabel rules */
      droppedSeries: number;
      /** series without a non-zero value of any sample type (Pyroscope stores none of them) */
      emptySeries: number;
      /** decompressed bytes decoded */
      decodedBytes: number;
      /** series the decode emitted, kept or not: the next unit's indexBase adds it */
      emitted: number;
      /** the samples of the whole request (Push; 1 for other formats), so units know the end */
      profiles: number;
      /** decompressed bytes of the request's samples up to this unit's last (Push) */
      inflatedBytes: number;
    }
  | { error: { reason: string; message: string; permanent: boolean } };

const enrichers = new Map<string, SeriesEnricher>();

function enricherFor(rules: DecodeTaskRules): SeriesEnricher {
  const key = JSON.stringify(rules);
  let e = enrichers.get(key);
  if (!e) {
    const compiled: EnrichRules = {
      globalTags: Object.entries(rules.globalTags).map(([name, value]) => ({ name, value })),
      series: compileRelabelRules(rules.relabel),
      sample: compileRelabelRules(rules.sampleRelabel),
    };
    e = new SeriesEnricher(compiled);
    if (enrichers.size > 1000) enrichers.clear(); // bounded: one entry per distinct tenant rule set
    enrichers.set(key, e);
  }
  return e;
}

function num(v: Int64): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

function toInput(task: DecodeTask, profiles: { count: number }): DecodeInput {
  const u = task.upload;
  let body = u.body;
  // Pyroscope ignores Content-Encoding; we honour it as well (bounded, like every inflate).
  if (u.format !== 'push' && u.contentEncoding.toLowerCase() === 'gzip' && isGzip(body)) {
    body =
      handedInflate(u.inflated?.body, body, task.maxBodyBytes) ??
      inflateBounded(body, task.maxBodyBytes);
  }
  const input: DecodeInput = {
    format: u.format,
    body,
    params: u.params,
    contentType: u.contentType,
    nowNanos: BigInt(u.receivedAtMs) * 1_000_000n,
    ...(u.inflated?.pprofs ? { inflated: u.inflated.pprofs } : {}),
  };
  if (u.format === 'pprof-form' || u.format === 'jfr-form') {
    input.parts = readMultipart(body, parseBoundary(u.contentType), { maxParts: 64 }).map(
      (p): FormPart => ({
        name: p.name ?? '',
        filename: p.filename,
        contentType: p.contentType,
        data: p.data,
      }),
    );
  } else if (u.format === 'push') {
    // ingest checked the envelope; Content-Encoding here is the Connect compression
    const envelope = negotiatePush({
      contentType: u.contentType,
      contentEncoding: u.contentEncoding,
    });
    const req = decodePushBody(u.body, envelope, task.maxBodyBytes);
    const unit = task.unit;
    let k = 0; // the sample's position in the request
    const push: PushSeriesInput[] = [];
    for (const series of req.series) {
      const samples: { rawProfile: Uint8Array; id: string }[] = [];
      for (const x of series.samples) {
        if (!unit || (k >= unit.first && k < unit.first + unit.count))
          samples.push({ rawProfile: x.rawProfile, id: x.id });
        k++;
      }
      if (samples.length > 0) push.push({ labels: series.labels.map((l) => ({ ...l })), samples });
    }
    input.push = push;
    profiles.count = k;
    input.requestBytes = { counted: unit?.bytesBefore ?? 0 };
  }
  return input;
}

export function runDecodeTask(task: DecodeTask): DecodeTaskResult {
  try {
    const u = task.upload;
    const profiles = { count: 1 };
    const input = toInput(task, profiles);
    const indexBase = u.format === 'push' ? (task.unit?.indexBase ?? 0) : 0;
    let emitted = 0;
    const enricher = enricherFor(task.rules);
    const out: EncodedSeries[] = [];
    let repairs = 0;
    let droppedSamples = 0;
    let droppedSeries = 0;
    let emptySeries = 0;
    // series by series: each decoded profile is encoded and dropped before the next is decoded,
    // unless it is handed on (keepProfile), so a Push of many series never holds them all
    decodeUploadEach(input, task.limits, (raw, at) => {
      const index = indexBase + at;
      emitted++;
      const e = enricher.enrich(raw);
      repairs += e.repairs;
      droppedSamples += e.droppedSamples;
      if (e.series === null) {
        droppedSeries++;
        return;
      }
      const s = e.series;
      const metric = s.labels.find((l) => l.name === '__name__')?.value ?? '';
      const f = s.flat;
      // A profile is a point in time (Pyroscope stores and selects it at `time_nanos`): startMs
      // is that time and endMs adds the duration when there is one, never the upload's `until`.
      const startNs = num(f.timeNanos) || Number(BigInt(u.params.fromNanos));
      const durNs = num(f.durationNanos);
      const startMs = Math.floor(startNs / 1e6);
      const endMs = durNs > 0 ? Math.floor((startNs + durNs) / 1e6) : startMs;
      // a sample type without a non-zero value makes no series in Pyroscope: no profile type
      // here; a series left with none is not stored at all (its pprof is not sent either)
      const withValues = sampleTypesWithValues(f);
      const types = profileTypeIds(metric, f).filter((_, k) => withValues[k]);
      if (types.length === 0) {
        emptySeries++;
        return;
      }
      const parts = splitPprof(encodePprofFlat(f), task.maxPartBytes);
      const e2: EncodedSeries = {
        index,
        labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
        profileTypeIds: types,
        startMs,
        endMs,
        parts,
      };
      // the decoded form travels along to a consumer in this process (one part only: a part's
      // bytes hold a share of the samples)
      if (task.keepProfile && parts.length === 1) e2.profile = f;
      if (task.keepCompact && parts.length === 1)
        e2.compact = ownedBytes(encodeCompact(compactFlat(f)));
      out.push(e2);
    });
    return {
      series: out,
      repairs,
      droppedSamples,
      droppedSeries,
      emptySeries,
      decodedBytes: input.body.length,
      emitted,
      profiles: profiles.count,
      inflatedBytes: input.requestBytes?.counted ?? 0,
    };
  } catch (err) {
    return { error: classify(err) };
  }
}

/**
 * Bytes that own their whole ArrayBuffer, so that moving the buffer to another thread detaches
 * nothing else (a Buffer may be a view into a shared pool).
 */
function ownedBytes(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b;
  return b.slice();
}

/** Every failure mapped to a discard reason; anything unexpected is a permanent `unknown`. */
export function classify(err: unknown): { reason: string; message: string; permanent: boolean } {
  if (isDecodeError(err))
    return { reason: err.reason, message: err.message, permanent: err.permanent };
  if (isProtocolError(err)) return { reason: err.reason, message: err.message, permanent: true };
  if (err instanceof PermanentError)
    return { reason: err.reason, message: err.message, permanent: true };
  // A decoder bug must not block the partition forever: dead-letter it, loudly.
  const e = err as Error;
  return {
    reason: 'unknown',
    message: `unexpected decoder failure: ${e?.stack ?? String(err)}`,
    permanent: true,
  };
}
