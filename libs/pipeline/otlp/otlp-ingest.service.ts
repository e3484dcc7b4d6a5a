import { Inject, Injectable, Logger } from '@nestjs/common';
import { UploadDedupe, type SharedStore } from '../../cache/index.js';
import { isRetryable } from '../../model/index.js';
import { Metrics } from '../../observability/index.js';
import {
  decodeOtlpRequest,
  isProtocolError,
  type OtlpEncoding,
  type OtlpSignal,
} from '../../protocol/index.js';
import { encodeOtlpBatch, otlpTopicOf, type QueueBroker } from '../../queue/index.js';
import { otlpDestinations, type EmberConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import { EMBER_CONFIG, QUEUE_BROKER, SHARED_STORE } from '../core/tokens.js';
import { IngestService } from '../ingest/ingest.service.js';

// The OTLP ingest: an Export request of one signal (traces, metrics, logs), checked and decoded
// (libs/protocol/otlp), deduplicated, rate-limited like uploads (the same per-tenant bucket of
// body bytes), and published as binary protobuf to the signal's topic. It answers success only
// once the queue holds the request (Kafka: acks from all in-sync replicas), exactly as uploads.
// A signal with nowhere to go (no backend configured for it) is refused, never accepted and
// dropped.

export interface OtlpInput {
  signal: OtlpSignal;
  tenant: string;
  contentType: string;
  contentEncoding: string;
  body: Buffer;
  /** aborted when the caller gave up waiting (handler timeout): the dedupe claim is dropped */
  abort?: AbortSignal;
}

export interface OtlpOutcome {
  batchId: string;
  duplicate: boolean;
  encoding: OtlpEncoding;
  /** spans, data points or log records in the request (for metrics) */
  items: number;
}

const SETTING_BY_SIGNAL: Record<OtlpSignal, string> = {
  traces: 'backends.embedded.enabled or backends.otlp[] with signals: [traces]',
  metrics: 'backends.otlp[] with signals: [metrics]',
  logs: 'backends.otlp[] with signals: [logs]',
};

@Injectable()
export class OtlpIngestService {
  private readonly log = new Logger('OtlpIngest');
  private readonly dedupe: UploadDedupe;

  constructor(
    @Inject(EMBER_CONFIG) private readonly config: EmberConfig,
    @Inject(QUEUE_BROKER) private readonly broker: QueueBroker,
    @Inject(SHARED_STORE) store: SharedStore,
    private readonly uploads: IngestService,
    private readonly metrics: Metrics,
  ) {
    this.dedupe = new UploadDedupe(store, config.ingest.dedupeWindowMs);
  }

  /** Throws HttpFailure for every rejection; resolves once the request is durably queued. */
  async accept(input: OtlpInput): Promise<OtlpOutcome> {
    this.uploads.refuseWhenDraining();
    const { signal, tenant } = input;
    if (otlpDestinations(this.config, signal).length === 0) {
      throw new HttpFailure(
        404,
        `OTLP ${signal} are not accepted: no backend is configured for them. Set ${SETTING_BY_SIGNAL[signal]} in the config file (EMBER_CONFIG)`,
        'unsupported_format',
      );
    }
    let decoded;
    try {
      decoded = decodeOtlpRequest({
        signal,
        contentType: input.contentType,
        contentEncoding: input.contentEncoding,
        body: input.body,
        maxBytes: this.config.ingest.maxBodyBytes,
      });
    } catch (err) {
      if (isProtocolError(err))
        throw new HttpFailure(err.status, err.message, err.reason, {}, err.code);
      throw err;
    }
    this.metrics.ingestBytes.inc({ tenant, encoding: 'compressed' }, input.body.length);
    await this.uploads.checkRate(tenant, input.body.length);
    const body = Buffer.from(
      decoded.canonical.buffer,
      decoded.canonical.byteOffset,
      decoded.canonical.byteLength,
    );
    const claim = await this.uploads.guard(() =>
      this.dedupe.claim({
        tenant,
        format: `otlp-${signal}`,
        params: {
          appName: '',
          labels: {},
          fromNanos: '',
          untilNanos: '',
          spyName: '',
          sampleRate: 0,
          units: '',
          aggregationType: '',
        },
        body,
      }),
    );
    const items = countItems(signal, decoded.message);
    if (claim.key === null) {
      this.metrics.ingestDuplicates.inc({ tenant });
      return { batchId: claim.uploadId, duplicate: true, encoding: decoded.encoding, items };
    }
    const claimKey = claim.key;
    const forget = (): void => void this.dedupe.release(claimKey).catch(() => {});
    input.abort?.addEventListener('abort', forget, { once: true });
    const stop = this.metrics.time('ingest_publish');
    try {
      await this.broker.publish(otlpTopicOf(signal), [
        encodeOtlpBatch({
          batchId: claim.uploadId,
          tenant,
          signal,
          receivedAtMs: Date.now(),
          body,
        }),
      ]);
    } catch (err) {
      await this.dedupe.release(claimKey).catch(() => {});
      if (isRetryable(err)) {
        this.log.warn(`OTLP ${signal} not queued (503): ${err.message}`);
        throw new HttpFailure(
          503,
          `the ${signal} queue is unavailable, retry later: ${err.message}`,
          'queue_unavailable',
          { 'retry-after': '5' },
        );
      }
      throw err;
    } finally {
      input.abort?.removeEventListener('abort', forget);
      stop();
    }
    return { batchId: claim.uploadId, duplicate: false, encoding: decoded.encoding, items };
  }
}

function countItems(signal: OtlpSignal, message: unknown): number {
  if (signal !== 'traces') return 0;
  const req = message as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
  let n = 0;
  for (const rs of req.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}
