import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  decodeUpload,
  defaultLimits,
  isDecodeError,
  type DecodeLimits,
  type DecodedSeries,
} from '../../decoders/index.js';
import { PermanentError, RetryableError, profileTypeIds, type Int64 } from '../../model/index.js';
import { encodePprof } from '../../model/pprof/index.js';
import { Metrics, asDiscardReason } from '../../observability/index.js';
import {
  decodePushBody,
  inflateBounded,
  isGzip,
  negotiatePush,
  parseBoundary,
  readMultipart,
} from '../../protocol/index.js';
import type { DecodeInput, FormPart } from '../../decoders/index.js';
import {
  TOPICS,
  decodeRawUpload,
  encodeNormalizedSeries,
  toDeadLetter,
  type IncomingMessage,
  type MessageBatch,
  type OutgoingMessage,
  type QueueBroker,
  type RawUpload,
} from '../../queue/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { EMBER_CONFIG, QUEUE_BROKER, SHARED_STORE } from '../core/tokens.js';
import type { SharedStore } from '../../cache/index.js';
import { SeriesEnricher } from './enrichment.js';
import { LabelCache } from './label-cache.service.js';

// The decode stage: raw uploads in, one normalised series per message out. A message that can
// never decode goes to profiles.raw.v1.dlq with its reason and is counted; anything transient
// (the queue refusing a publish) is thrown, so the batch is retried and not committed. Series
// ids are `${uploadId}:${index}`, deterministic, so a redelivered upload yields the same ids
// and the exporter's delivery dedupe drops the repeats.

@Injectable()
export class DecodeService {
  private readonly log = new Logger('Decoder');
  private readonly limits: DecodeLimits;
  private readonly enricher: SeriesEnricher;
  private readonly labelCache: LabelCache;

  constructor(
    @Inject(EMBER_CONFIG) private readonly config: EmberConfig,
    @Inject(QUEUE_BROKER) private readonly broker: QueueBroker,
    @Inject(SHARED_STORE) store: SharedStore,
    private readonly metrics: Metrics,
  ) {
    this.limits = { ...defaultLimits, maxDecompressedBytes: config.file.limits.maxProfileBytes };
    this.enricher = new SeriesEnricher(config);
    this.labelCache = new LabelCache(store, config.file.labelCardinality);
  }

  async handleBatch(batch: MessageBatch): Promise<void> {
    const normalized: OutgoingMessage[] = [];
    const dead: OutgoingMessage[] = [];
    const decoded: { upload: RawUpload; series: { s: DecodedSeries; index: number }[] }[] = [];
    for (const m of batch.messages) {
      const stop = this.metrics.time('decode');
      try {
        const upload = decodeRawUpload(m);
        const series = this.decode(upload);
        const kept: { s: DecodedSeries; index: number }[] = [];
        series.forEach((raw, index) => {
          const e = this.enricher.enrich(upload.tenant, raw);
          if (e.repairs > 0) this.metrics.labelRepairs.inc({ tenant: upload.tenant }, e.repairs);
          if (e.droppedSamples > 0)
            this.metrics.relabelDroppedSamples.inc({ tenant: upload.tenant }, e.droppedSamples);
          if (e.series === null) {
            this.metrics.discarded.inc({ reason: 'dropped_by_relabel', tenant: upload.tenant });
            return;
          }
          kept.push({ s: e.series, index });
        });
        decoded.push({ upload, series: kept });
      } catch (err) {
        const { reason, message } = this.classify(err);
        dead.push(toDeadLetter(m, reason, message));
        this.metrics.discarded.inc({
          reason: asDiscardReason(reason),
          tenant: m.headers['ember-tenant'] ?? 'unknown',
        });
        this.metrics.deadLettered.inc({ topic: m.topic, reason });
        this.log.warn(
          JSON.stringify({ msg: 'upload dead-lettered', reason, error: message, ...where(m) }),
        );
      } finally {
        stop();
      }
      await batch.heartbeat();
    }
    // The cardinality guard sees a whole batch per tenant: three round trips, not three per series.
    const byTenant = new Map<string, { s: DecodedSeries }[]>();
    for (const d of decoded) {
      const list = byTenant.get(d.upload.tenant) ?? [];
      list.push(...d.series);
      byTenant.set(d.upload.tenant, list);
    }
    for (const [tenant, list] of byTenant) {
      const outcome = await this.labelCache.observe(
        tenant,
        list.map((x) => x.s.labels),
      );
      list.forEach((x, i) => (x.s = { ...x.s, labels: outcome.labels[i] }));
      for (const n of outcome.overflowed.values()) this.metrics.labelOverflow.inc({ tenant }, n);
    }
    for (const { upload, series } of decoded) {
      for (const { s, index } of series) normalized.push(this.toMessage(upload, s, index));
      this.metrics.decodedSeries.inc({ tenant: upload.tenant }, series.length);
    }
    // Both publishes must be acknowledged before the batch may be committed.
    if (normalized.length > 0) await this.broker.publish(TOPICS.normalized, normalized);
    if (dead.length > 0) await this.broker.publish(TOPICS.rawDlq, dead);
  }

  private decode(u: RawUpload): DecodedSeries[] {
    let body: Uint8Array = u.body;
    // Pyroscope ignores Content-Encoding; we honour it as well (bounded, like every inflate).
    if (u.format !== 'push' && u.contentEncoding.toLowerCase() === 'gzip' && isGzip(body)) {
      body = inflateBounded(body, this.config.ingest.maxBodyBytes);
    }
    const input: DecodeInput = {
      format: u.format,
      body,
      params: u.params,
      contentType: u.contentType,
      nowNanos: BigInt(u.receivedAtMs) * 1_000_000n,
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
      // ingest checked the envelope already; Content-Encoding here is the Connect compression
      const envelope = negotiatePush({
        contentType: u.contentType,
        contentEncoding: u.contentEncoding,
      });
      const req = decodePushBody(u.body, envelope, this.config.ingest.maxBodyBytes);
      input.push = req.series.map((s) => ({
        labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
        samples: s.samples.map((x) => ({ rawProfile: x.rawProfile, id: x.id })),
      }));
    }
    return decodeUpload(input, this.limits);
  }

  private toMessage(u: RawUpload, s: DecodedSeries, index: number): OutgoingMessage {
    const metric = s.labels.find((l) => l.name === '__name__')?.value ?? '';
    const startNs = num(s.profile.timeNanos) || Number(BigInt(u.params.fromNanos));
    const durNs = num(s.profile.durationNanos);
    const startMs = Math.floor(startNs / 1e6);
    const endMs =
      durNs > 0
        ? Math.floor((startNs + durNs) / 1e6)
        : Math.max(startMs, Math.floor(Number(BigInt(u.params.untilNanos)) / 1e6));
    return encodeNormalizedSeries({
      seriesId: `${u.uploadId}:${index}`,
      uploadId: u.uploadId,
      tenant: u.tenant,
      labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
      profileTypeIds: profileTypeIds(metric, s.profile),
      startMs,
      endMs,
      pprof: Buffer.from(encodePprof(s.profile)),
    });
  }

  private classify(err: unknown): { reason: string; message: string } {
    if (err instanceof RetryableError) throw err;
    if (isDecodeError(err)) {
      if (!err.permanent) throw new RetryableError(err.message, undefined, { cause: err });
      return { reason: err.reason, message: err.message };
    }
    if (err instanceof PermanentError) return { reason: err.reason, message: err.message };
    const e = err as { status?: number; reason?: string; message?: string };
    if (typeof e?.reason === 'string' && typeof e.message === 'string')
      return { reason: e.reason, message: e.message };
    // A decoder bug must not block the partition forever: dead-letter it, loudly.
    this.log.error(`unexpected decoder failure: ${(err as Error)?.stack ?? String(err)}`);
    return {
      reason: 'unknown',
      message: `unexpected decoder failure: ${(err as Error)?.message ?? String(err)}`,
    };
  }
}

function num(v: Int64): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

function where(m: IncomingMessage): Record<string, string> {
  return {
    tenant: m.headers['ember-tenant'] ?? '',
    uploadId: m.headers['ember-upload-id'] ?? '',
    offset: `${m.topic}[${m.partition}]@${m.offset}`,
  };
}
