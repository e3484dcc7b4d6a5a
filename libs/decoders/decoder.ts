// The decoder contract: one upload in, zero or more normalised series out, or a DecodeError.

import type { FlatProfile, Int64, LabelPair, LabelRepair, Profile } from '../model/index.js';
import type { HandedInflate, IngestParams, UploadFormat } from '../protocol/index.js';

/** One part of a multipart form, as the protocol's multipart reader splits it. */
export interface FormPart {
  /** the `name` of its Content-Disposition */
  name: string;
  /**
   * the `filename` of its Content-Disposition. Pyroscope only looks at file parts (`form.File`),
   * so a part without a filename is ignored; `undefined` means "no filename".
   */
  filename?: string;
  contentType?: string;
  data: Uint8Array;
}

/** One `RawProfileSeries` of a Push request, already decoded from protobuf/JSON. */
export interface PushSeriesInput {
  labels: LabelPair[];
  samples: { rawProfile: Uint8Array; id: string }[];
}

export interface DecodeInput {
  format: UploadFormat;
  /** the request body as received (for `pprof-form`/`jfr-form`: the whole multipart body) */
  body: Uint8Array;
  /** the form parts, for `pprof-form` (required there) */
  parts?: readonly FormPart[];
  /** for `push`: the decoded request; when absent the body is decoded as a binary PushRequest */
  push?: readonly PushSeriesInput[];
  params: IngestParams;
  contentType: string;
  /**
   * "now" in Unix nanoseconds, used where Pyroscope uses the server clock (a profile with
   * `time_nanos` 0). Defaults to the wall clock; pass it for deterministic output.
   */
  nowNanos?: Int64;
  /**
   * pprofs already inflated in this process (ingest's scan), in the order this decoder inflates
   * them: [0] the /ingest profile (raw body or the form's `profile` part), [k] the k-th sample
   * of a Push request; null or absent where none was. Each is used only for the bytes it came
   * from (`handedInflate`); the series are the same with or without them.
   */
  inflated?: readonly (HandedInflate | null)[];
  /**
   * For `push` decoded in units (a few thousand samples at a time): the request's decompressed
   * bytes so far, shared by the decodes of its units. The decoder starts from `counted` and adds
   * what it inflates, so maxRequestDecompressedBytes bounds the whole request, not each unit.
   */
  requestBytes?: { counted: number };
}

export interface DecodeLimits {
  /** validation.max-profile-size-bytes: a decompressed pprof (also a raw one); 0 = unlimited */
  maxDecompressedBytes: number;
  /** distributor.ingestion-body-limit-mb: the sum of decompressed pprofs of one Push; 0 = unlimited */
  maxRequestDecompressedBytes: number;
  /** validation.max-profile-stacktrace-samples; also the tree format's child-count limit */
  maxSamples: number;
  /** validation.max-profile-stacktrace-sample-labels */
  maxSampleLabels: number;
  /** validation.max-profile-stacktrace-depth: deeper stacks are truncated (root side kept) */
  maxStackDepth: number;
  /** validation.max-profile-symbol-value-length: longer strings are truncated (tail kept) */
  maxSymbolLength: number;
  /** validation.max-label-names-per-series */
  maxLabelNamesPerSeries: number;
  /** validation.max-length-label-name */
  maxLabelNameLength: number;
  /** validation.max-length-label-value */
  maxLabelValueLength: number;
  /** validation.max-sessions-per-series: 0 drops `__session_id__` */
  maxSessionsPerSeries: number;
  /** the folded/lines line limit (Go bufio.Scanner's 64 KiB token) */
  maxLineBytes: number;
  /** legacy label-name sanitisation (dots → underscores); Pyroscope's default: off */
  sanitizeLabelNames: boolean;
  /**
   * validation.reject-older-than / reject-newer-than, in ms relative to `nowNanos`; 0 = no bound.
   * Pyroscope's defaults are 1h and 10m; here both default to 0, because a stored upload that is
   * decoded again later (replay, DLQ redrive) must not turn into a rejection.
   */
  rejectOlderThanMs: number;
  rejectNewerThanMs: number;
}

/** Pyroscope's defaults (pyroscope-protocol.md §6). */
export const defaultLimits: Readonly<DecodeLimits> = Object.freeze({
  maxDecompressedBytes: 4 * 1024 * 1024,
  maxRequestDecompressedBytes: 256 * 1024 * 1024,
  maxSamples: 16000,
  maxSampleLabels: 100,
  maxStackDepth: 1000,
  maxSymbolLength: 65535,
  maxLabelNamesPerSeries: 30,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  maxSessionsPerSeries: 0,
  maxLineBytes: 64 * 1024,
  sanitizeLabelNames: false,
  rejectOlderThanMs: 0,
  rejectNewerThanMs: 0,
});

export interface DecodedSeries {
  /** sorted by name (code-point order), names unique */
  labels: LabelPair[];
  /**
   * normalised (no zero/negative samples, duplicates merged, unused symbols dropped), in the
   * flat model: what the pipeline encodes and stores
   */
  flat: FlatProfile;
  /**
   * `flat` as `Profile` objects, built on first read (the pipeline never reads it). A view:
   * changing it does not change `flat`.
   */
  readonly profile: Profile;
  /** the Push sample `ID`, when there was one */
  id?: string;
  /** label repairs made where Pyroscope would have rejected the series */
  repairs?: LabelRepair[];
}

export interface Decoder {
  readonly formats: readonly UploadFormat[];
  /** Pure: returns the series or throws DecodeError; never throws anything else. */
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[];
  /**
   * The same series in the same order, handed to `emit` one at a time as each is decoded, so a
   * caller that encodes and drops them holds one decoded profile, not all of them (a Push of
   * 20,000 series decoded whole holds about 7 KB of object model per series). Every check on the
   * whole request (its size limit, no profiles) is made before the first series is emitted.
   * Optional: without it the registry emits the result of `decode`.
   */
  decodeEach?(
    input: DecodeInput,
    limits: DecodeLimits,
    emit: (series: DecodedSeries) => void,
  ): void;
}
