import { Inject, Injectable, Logger } from '@nestjs/common';
import { UploadDedupe, keys, type SharedStore } from '../../cache/index.js';
import {
  UploadStructureError,
  convertExportRequest,
  defaultLimits,
  inflatePprof,
  isDecodeError,
  scanGzipJfrPrefix,
  scanJfrStructure,
  scanPprofStructure,
  type PprofStructure,
} from '../../decoders/index.js';
import {
  fixPprofTime,
  isDotnetSpy,
  isRetryable,
  labelsString,
  sortLabels,
  type Int64,
} from '../../model/index.js';
import { Metrics, Readiness } from '../../observability/index.js';
import {
  decodeExportProfilesRequest,
  decodePushBody,
  handInflate,
  inflateBounded,
  isGzip,
  isProtocolError,
  negotiateOtlp,
  negotiatePush,
  parseGoQuery,
  parseIngestRequest,
  pushBatchTooLargeError,
  decompressJfrPart,
  readJfrForm,
  readPprofForm,
  type HandedInflate,
  type IngestParams,
  type MultipartLimits,
  type UploadFormat,
} from '../../protocol/index.js';
import {
  TOPICS,
  encodeRawUpload,
  type InflatedUpload,
  type QueueBroker,
} from '../../queue/index.js';
import { tenantLimits, type EmberConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import { EMBER_CONFIG, QUEUE_BROKER, SHARED_STORE } from '../core/tokens.js';

// The ingest stage: validates the envelope of an upload, answers exactly as Pyroscope would for
// envelope errors, and publishes the untouched body with its metadata. It never decodes a
// profile (the decoder does), so it stays cheap under bursts. It answers 200 only once the
// queue acknowledged the upload: an upload answered 200 is never lost.

export interface IngestInput {
  tenant: string;
  /** the query string as sent, without the leading `?` */
  rawQuery: string;
  contentType: string;
  contentEncoding: string;
  body: Buffer;
  /** aborted when the caller gave up waiting (handler timeout): the dedupe claim is dropped */
  signal?: AbortSignal;
}

export interface PushInput {
  tenant: string;
  contentType: string;
  contentEncoding: string;
  connectProtocolVersion: string;
  body: Buffer;
  signal?: AbortSignal;
}

export interface OtlpProfilesInput {
  tenant: string;
  contentType: string;
  contentEncoding: string;
  body: Buffer;
  signal?: AbortSignal;
}

export interface IngestOutcome {
  uploadId: string;
  duplicate: boolean;
  format: UploadFormat;
  params: IngestParams;
}

@Injectable()
export class IngestService {
  private readonly log = new Logger('Ingest');
  private readonly dedupe: UploadDedupe;

  constructor(
    @Inject(EMBER_CONFIG) private readonly config: EmberConfig,
    @Inject(QUEUE_BROKER) private readonly broker: QueueBroker,
    @Inject(SHARED_STORE) private readonly store: SharedStore,
    private readonly metrics: Metrics,
    private readonly readiness: Readiness,
  ) {
    this.dedupe = new UploadDedupe(store, config.ingest.dedupeWindowMs);
  }

  /**
   * During shutdown new uploads are refused (agents retry), so accepted ones can be finished.
   * Public for the OTLP ingest, which shares these rules.
   */
  refuseWhenDraining(): void {
    if (this.readiness.draining) {
      throw new HttpFailure(
        503,
        'Emberflow is shutting down; retry in a few seconds',
        'shutting_down',
        { 'retry-after': '5' },
      );
    }
  }

  /** Throws HttpFailure for every rejection; resolves once the upload is durably queued. */
  async accept(input: IngestInput): Promise<IngestOutcome> {
    this.refuseWhenDraining();
    const { tenant } = input;
    let parsed;
    try {
      parsed = parseIngestRequest({
        query: parseGoQuery(input.rawQuery),
        contentType: input.contentType,
        now: BigInt(Date.now()) * 1_000_000n,
      });
    } catch (err) {
      if (isProtocolError(err))
        throw new HttpFailure(err.status, err.message, err.reason, {}, err.code);
      throw err;
    }
    const { params, format } = parsed;
    this.metrics.ingestBytes.inc({ tenant, encoding: 'compressed' }, input.body.length);
    let inflated: InflatedUpload | undefined;
    try {
      inflated = this.validateEnvelope(format, input, params);
    } catch (err) {
      if (err instanceof HttpFailure) err.upload = { params, format };
      throw err;
    }
    await this.checkRate(tenant, input.body.length);
    return this.publish(tenant, format, params, input, inflated);
  }

  /**
   * POST /push.v1.PusherService/Push (Connect): checks the envelope (content type, encoding,
   * protocol version, a decodable PushRequest within the body limit) and publishes the body as
   * sent; the decoder decodes the profiles. Throws HttpFailure carrying the Connect code.
   */
  async acceptPush(input: PushInput): Promise<IngestOutcome> {
    this.refuseWhenDraining();
    const { tenant } = input;
    let service = 'push';
    let profiles = 0;
    // the scan's inflates, one per sample in request order, for the decoder of this process
    const pprofs: (HandedInflate | null)[] | undefined = this.broker.localPayloads ? [] : undefined;
    try {
      const envelope = negotiatePush({
        contentType: input.contentType,
        contentEncoding: input.contentEncoding,
        connectProtocolVersion: input.connectProtocolVersion,
      });
      const req = decodePushBody(input.body, envelope, this.config.ingest.maxBodyBytes);
      const first = req.series[0]?.labels.find((l) => l.name === 'service_name');
      if (first) service = first.value;
      // the structural scan of every profile (ADR 0013): Pyroscope's Push answers 400; the
      // request's decompressed profiles are bounded as its distributor bounds them, before any
      // is stored (the decoder may publish a large Push in units)
      const inflated = { bytes: 0 };
      const limit = defaultLimits.maxRequestDecompressedBytes;
      for (const series of req.series)
        for (const sample of series.samples) {
          profiles++;
          const s = this.scanPprof(sample.rawProfile, 400, false, pprofs, inflated);
          if (limit > 0 && inflated.bytes > limit) throw pushBatchTooLargeError(limit);
          // a Push profile without a time is stamped with the clock: always in the window
          if (s && s.timeNanos > 0) this.checkWindow(tenant, s.timeNanos, 400, series.labels);
        }
    } catch (err) {
      if (isProtocolError(err))
        throw new HttpFailure(err.status, err.message, err.reason, {}, err.code);
      throw err;
    }
    this.metrics.ingestBytes.inc({ tenant, encoding: 'compressed' }, input.body.length);
    await this.checkRate(tenant, input.body.length);
    const now = (BigInt(Date.now()) * 1_000_000n).toString();
    const params: IngestParams = {
      name: service,
      appName: service,
      labels: {},
      fromNanos: now,
      untilNanos: now,
      sampleRate: 0,
      spyName: 'push',
      units: '',
      aggregationType: '',
      formatParam: '',
    };
    const inflated = pprofs?.some((p) => p !== null) ? { pprofs } : undefined;
    return this.publish(tenant, 'push', params, input, inflated, profiles);
  }

  /**
   * OTLP profiles (`POST /v1development/profiles`, gRPC `ProfilesService/Export`): the request is
   * decoded and converted here, so bad input is answered now (400 with the reason, 415, 413 for
   * a body that inflates past the limit) as Pyroscope answers it, and published as sent; the
   * decoder converts it again into series. Resolves once durably queued.
   */
  async acceptOtlpProfiles(input: OtlpProfilesInput): Promise<IngestOutcome> {
    this.refuseWhenDraining();
    const { tenant } = input;
    let service = 'otlp';
    let profiles = 0;
    try {
      const envelope = negotiateOtlp(input);
      const req = decodeExportProfilesRequest(
        input.body,
        envelope,
        this.config.ingest.maxBodyBytes,
      );
      const series = convertExportRequest(req, BigInt(Date.now()) * 1_000_000n);
      profiles = series.length;
      const first = series[0]?.labels.find((l) => l.name === 'service_name');
      if (first) service = first.value;
    } catch (err) {
      if (isProtocolError(err))
        throw new HttpFailure(err.status, err.message, err.reason, {}, err.code);
      if (isDecodeError(err))
        throw new HttpFailure(400, err.message, err.reason, {}, 'invalid_argument');
      throw err;
    }
    this.metrics.ingestBytes.inc({ tenant, encoding: 'compressed' }, input.body.length);
    await this.checkRate(tenant, input.body.length);
    const now = (BigInt(Date.now()) * 1_000_000n).toString();
    const params: IngestParams = {
      name: service,
      appName: service,
      labels: {},
      fromNanos: now,
      untilNanos: now,
      sampleRate: 0,
      spyName: 'otlp',
      units: '',
      aggregationType: '',
      formatParam: '',
    };
    return this.publish(tenant, 'otlp', params, input, undefined, profiles);
  }

  /**
   * The envelope checks Pyroscope makes before decoding, answered the way it answers them
   * (422 with its messages), then the structural scan of the profile itself (ADR 0013): a
   * pprof or JFR recording Pyroscope would refuse is refused here, 422, so the agent learns;
   * what only a full decode finds still goes to the dead-letter queue. A body sent with
   * `Content-Encoding: gzip` is inflated for the check, never past the body limit.
   *
   * Returns what it inflated when the decoder runs in this process (the in-process queue hands
   * it over, RawUpload.inflated), so that the same bytes are inflated once per process.
   */
  private validateEnvelope(
    format: UploadFormat,
    input: IngestInput,
    params: IngestParams,
  ): InflatedUpload | undefined {
    if (format !== 'pprof-form' && format !== 'jfr-form' && format !== 'pprof' && format !== 'jfr')
      return undefined;
    let body: Uint8Array = input.body;
    const limits: MultipartLimits = { maxParts: 64, maxPartBytes: this.config.ingest.maxBodyBytes };
    const keep = this.broker.localPayloads === true;
    const pprofs: (HandedInflate | null)[] | undefined = keep ? [] : undefined;
    let handedBody: HandedInflate | undefined;
    try {
      if (input.contentEncoding.toLowerCase() === 'gzip' && isGzip(body)) {
        body = inflateBounded(body, this.config.ingest.maxBodyBytes);
        if (keep) handedBody = handInflate(input.body, body);
      }
      if (format === 'pprof-form') {
        const form = readPprofForm(body, input.contentType, limits);
        const config = form.sampleTypeConfig && Object.fromEntries(form.sampleTypeConfig);
        const s = this.scanPprof(form.profile, 422, isDotnetSpy(params.spyName, config), pprofs);
        if (s)
          this.checkWindow(input.tenant, ingestTimeNanos(s, params), 422, ingestLabels(params));
      } else if (format === 'pprof') {
        const s = this.scanPprof(body, 422, isDotnetSpy(params.spyName, undefined), pprofs);
        if (s)
          this.checkWindow(input.tenant, ingestTimeNanos(s, params), 422, ingestLabels(params));
      } else if (format === 'jfr-form') {
        const form = readJfrForm(body, input.contentType, limits);
        // a gzipped single-chunk recording is checked from its first bytes and its trailer;
        // anything else is inflated whole, as the decoder will, and its chain walked
        if (!scanGzipJfrPrefix(form.jfr, this.maxProfileBytes()))
          this.scanJfr(decompressJfrPart(form.jfr, this.maxProfileBytes(), 'jfr'));
      } else this.scanJfr(body);
    } catch (err) {
      if (isProtocolError(err))
        throw new HttpFailure(err.status, err.message, err.reason, {}, err.code);
      throw err;
    }
    const handedPprofs = pprofs?.some((p) => p !== null) ? pprofs : undefined;
    if (!handedBody && !handedPprofs) return undefined;
    return {
      ...(handedBody ? { body: handedBody } : {}),
      ...(handedPprofs ? { pprofs: handedPprofs } : {}),
    };
  }

  private maxProfileBytes(): number {
    return this.config.file.limits.maxProfileBytes;
  }

  /**
   * Inflates (as the decoder will: Go's gzip header rule, the profile size cap) and scans one
   * pprof. Over the size cap it is left to the decoder, which refuses it with its own reason.
   * With `handed`, appends one entry for these bytes: what was inflated, or null when nothing
   * was (not gzip, empty, over the cap), so that entry k is the decoder's k-th pprof. With
   * `inflated`, adds the profile's decompressed size (not of one over the cap, as Pyroscope).
   */
  private scanPprof(
    bytes: Uint8Array | undefined,
    status: 400 | 422,
    dotnet: boolean,
    handed?: (HandedInflate | null)[],
    inflated?: { bytes: number },
  ): PprofStructure | undefined {
    if (bytes === undefined || bytes.length === 0) {
      handed?.push(null);
      return undefined; // empty: Pyroscope says 200
    }
    let raw: Uint8Array;
    try {
      raw = inflatePprof(bytes, this.maxProfileBytes());
    } catch (err) {
      if (isDecodeError(err) && err.kind === 'too_large') {
        handed?.push(null);
        return undefined;
      }
      if (isDecodeError(err)) throw structureFailure(status, err.message);
      throw err;
    }
    handed?.push(handInflate(bytes, raw) ?? null);
    if (inflated) inflated.bytes += raw.length;
    try {
      return scanPprofStructure(raw, { dotnetFunctionIdFix: dotnet });
    } catch (err) {
      if (err instanceof UploadStructureError) throw structureFailure(status, err.message);
      throw err;
    }
  }

  /**
   * The tenant's ingestion window (limits rejectOlderThan / rejectNewerThan), as Pyroscope's
   * `pkg/validation/validate.go` ingestionWindow: strictly after now - older and strictly
   * before now + newer, in milliseconds; outside is not_in_ingestion_window with its message.
   */
  private checkWindow(
    tenant: string,
    timeNanos: number,
    status: 400 | 422,
    labels: readonly { name: string; value: string }[],
  ): void {
    const l = tenantLimits(this.config, tenant);
    if (l.rejectOlderThan <= 0 && l.rejectNewerThan <= 0) return;
    const now = Date.now();
    const from = l.rejectOlderThan > 0 ? now - l.rejectOlderThan : 0;
    const to = l.rejectNewerThan > 0 ? now + l.rejectNewerThan : 0;
    const t = Math.floor(timeNanos / 1e6);
    if ((from === 0 || t > from) && (to === 0 || t < to)) return;
    const detail =
      to === 0
        ? `the ingestion window starts at ${goTimeString(from)}`
        : from === 0
          ? `the ingestion window ends at ${goTimeString(to)}`
          : `the ingestion window starts at ${goTimeString(from)} and ends at ${goTimeString(to)}`;
    const message = `profile with labels '${labelsString(sortLabels(labels))}' is outside of ingestion window (profile timestamp: ${goTimeString(t)}, ${detail})`;
    throw status === 400
      ? new HttpFailure(400, message, 'not_in_ingestion_window', {}, 'invalid_argument')
      : new HttpFailure(422, message, 'not_in_ingestion_window');
  }

  private scanJfr(bytes: Uint8Array): void {
    try {
      scanJfrStructure(bytes);
    } catch (err) {
      if (err instanceof UploadStructureError) throw structureFailure(422, err.message);
      throw err;
    }
  }

  private async publish(
    tenant: string,
    format: UploadFormat,
    params: IngestParams,
    input: { contentType: string; contentEncoding: string; body: Buffer; signal?: AbortSignal },
    inflated?: InflatedUpload,
    profiles?: number,
  ): Promise<IngestOutcome> {
    const claim = await this.guard(() =>
      this.dedupe.claim({
        tenant,
        format,
        // a Push or OTLP body carries its own labels and timestamps: its digest is the identity
        params:
          format === 'push' || format === 'otlp'
            ? { ...params, fromNanos: '', untilNanos: '', appName: '', labels: {} }
            : params,
        body: input.body,
      }),
    );
    const { uploadId } = claim;
    if (claim.key === null) {
      this.metrics.ingestDuplicates.inc({ tenant });
      return { uploadId, duplicate: true, format, params };
    }
    const stop = this.metrics.time('ingest_publish');
    // The agent was told 503 and will retry: forget the claim now, so the retry is published
    // rather than answered as a duplicate of an upload that may never be acknowledged. Should
    // this publish still succeed, both copies carry the same identity-derived upload id and the
    // exporter keeps one (at least once, never lost).
    const claimKey = claim.key;
    const forget = (): void => void this.dedupe.release(claimKey).catch(() => {});
    input.signal?.addEventListener('abort', forget, { once: true });
    try {
      await this.broker.publish(TOPICS.raw, [
        encodeRawUpload({
          uploadId,
          tenant,
          format,
          contentType: input.contentType,
          contentEncoding: input.contentEncoding,
          params,
          receivedAtMs: Date.now(),
          body: input.body,
          ...(profiles !== undefined ? { profiles } : {}),
          ...(inflated ? { inflated } : {}),
        }),
      ]);
    } catch (err) {
      // Not published: forget the claim so the agent's retry is not taken for a duplicate.
      await this.dedupe.release(claim.key).catch(() => {});
      if (isRetryable(err)) {
        this.log.warn(`upload not queued (503): ${err.message}`);
        throw new HttpFailure(
          503,
          `the profile queue is unavailable, retry later: ${err.message}`,
          'queue_unavailable',
          {
            'retry-after': '5',
          },
        );
      }
      throw err;
    } finally {
      input.signal?.removeEventListener('abort', forget);
      stop();
    }
    return { uploadId, duplicate: false, format, params };
  }

  /**
   * Per-tenant ingestion rate, a token bucket of body bytes shared by every ingest replica. An
   * upload is charged its full size: one larger than the burst passes when the bucket is full
   * and leaves it in debt, so the tenant's next uploads wait (regression: a tenant limited to
   * 200 KB/s pushed 786 KB/s in uploads larger than its burst, charged only the burst).
   */
  async checkRate(tenant: string, bytes: number): Promise<void> {
    const limits = tenantLimits(this.config, tenant);
    if (limits.ingestionRateBytes <= 0) return;
    const burst = Math.max(limits.ingestionBurstBytes, limits.ingestionRateBytes);
    const r = await this.guard(() =>
      this.store.takeTokens(keys.rate(tenant), limits.ingestionRateBytes, burst, bytes),
    );
    if (!r.allowed) {
      const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      throw new HttpFailure(
        429,
        `push rate limit (${limits.ingestionRateBytes} bytes/s) exceeded for tenant ${tenant} while adding ${bytes} bytes; retry after ${seconds}s or raise limits.ingestionRateBytes`,
        'rate_limited',
        { 'retry-after': String(seconds) },
      );
    }
  }

  /** Runs a shared-store call; its retryable failure becomes 503 store_unavailable. */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isRetryable(err)) {
        throw new HttpFailure(
          503,
          `shared state (Redis) is unavailable, retry later: ${err.message}`,
          'store_unavailable',
          {
            'retry-after': '5',
          },
        );
      }
      throw err;
    }
  }
}

/**
 * A profile the structural scan refuses: 422 on /ingest, 400 invalid_argument on Push, as
 * Pyroscope answers them (reason malformed_profile, its discard reason for these).
 */
function structureFailure(status: 400 | 422, message: string): HttpFailure {
  return status === 400
    ? new HttpFailure(400, message, 'malformed_profile', {}, 'invalid_argument')
    : new HttpFailure(422, message, 'malformed_profile');
}

/** The time Pyroscope validates for an /ingest pprof: time_nanos after its fixTime (`from`). */
function ingestTimeNanos(s: PprofStructure, params: IngestParams): number {
  const p = { timeNanos: s.timeNanos as Int64 };
  fixPprofTime(p, BigInt(params.fromNanos));
  return Number(p.timeNanos);
}

/** The labels known at ingest of an /ingest upload, for the window's message. */
function ingestLabels(params: IngestParams): { name: string; value: string }[] {
  const out = Object.entries(params.labels).map(([name, value]) => ({ name, value }));
  if (!Object.hasOwn(params.labels, 'service_name'))
    out.push({ name: 'service_name', value: params.appName });
  return out;
}

/** Go's time.Time.String() of a UTC instant in ms: `2021-12-31 09:15:10.146 +0000 UTC`. */
export function goTimeString(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2021-12-31T09:15:10.146Z
  let frac = iso.slice(20, 23).replace(/0+$/, '');
  frac = frac === '' ? '' : `.${frac}`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} +0000 UTC`;
}
