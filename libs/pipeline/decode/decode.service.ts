import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { SharedStore } from '../../cache/index.js';
import { defaultLimits, type DecodeLimits } from '../../decoders/index.js';
import { RetryableError } from '../../model/index.js';
import { Metrics, asDiscardReason } from '../../observability/index.js';
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
import { DecodePool } from './decode-pool.js';
import { classify, type EncodedSeries } from './decode-task.js';
import { tenantRuleConfig } from './enrichment.js';
import { LabelCache } from './label-cache.service.js';
import { FleetRecorder } from '../fleet/fleet.recorder.js';
import { agentKeyOfUpload } from '../fleet/upload-identity.js';
import type { UploadFormat } from '../../protocol/index.js';

// The decode stage: raw uploads in, one normalised series per message out. A message that can
// never decode goes to profiles.raw.v1.dlq with its reason and is counted; anything transient
// (the queue refusing a publish) is thrown, so the batch is retried and not committed. Series
// ids are `${uploadId}:${index}`, deterministic, so a redelivered upload yields the same ids
// and the exporter's delivery dedupe drops the repeats.

@Injectable()
export class DecodeService implements OnModuleDestroy {
  private readonly log = new Logger('Decoder');
  private readonly limits: DecodeLimits;
  private readonly labelCache: LabelCache;
  private readonly pool: DecodePool;

  constructor(
    @Inject(EMBER_CONFIG) private readonly config: EmberConfig,
    @Inject(QUEUE_BROKER) private readonly broker: QueueBroker,
    @Inject(SHARED_STORE) store: SharedStore,
    private readonly metrics: Metrics,
    private readonly fleet: FleetRecorder,
  ) {
    this.limits = { ...defaultLimits, maxDecompressedBytes: config.file.limits.maxProfileBytes };
    this.labelCache = new LabelCache(store, config.file.labelCardinality);
    this.pool = new DecodePool({
      workers: config.decode.workers,
      thresholdBytes: config.decode.workerThresholdBytes,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
  }

  /** The agent's last error in the fleet view: what its upload died of, from the raw headers. */
  private recordFailure(m: IncomingMessage, message: string): void {
    let params: { appName?: string; labels?: Record<string, string> } = {};
    try {
      params = JSON.parse(m.headers['ember-params'] ?? '{}') as typeof params;
    } catch {
      // a message without readable params still counts; it just has no service to show
    }
    const tenant = m.headers['ember-tenant'];
    if (!tenant || !params.appName) return;
    const format = m.headers['ember-format'] as UploadFormat | undefined;
    void this.fleet.failed(
      agentKeyOfUpload(tenant, { appName: params.appName, labels: params.labels ?? {} }, format),
      { at: Date.now(), stage: 'decoder', message },
    );
  }

  async handleBatch(batch: MessageBatch): Promise<void> {
    const normalized: OutgoingMessage[] = [];
    const dead: OutgoingMessage[] = [];
    const decoded: { upload: RawUpload; series: EncodedSeries[] }[] = [];
    // Decode concurrently: large uploads run on worker threads while small ones run inline.
    const tasks = batch.messages.map(async (m) => {
      const stop = this.metrics.time('decode');
      try {
        let upload: RawUpload;
        try {
          upload = decodeRawUpload(m);
        } catch (err) {
          return { m, error: classify(err) };
        }
        const r = await this.pool.run({
          upload,
          limits: this.limits,
          maxBodyBytes: this.config.ingest.maxBodyBytes,
          rules: tenantRuleConfig(this.config, upload.tenant),
        });
        return { m, upload, r };
      } finally {
        stop();
      }
    });
    for (const t of await Promise.all(tasks)) {
      const error = 'error' in t ? t.error : 'error' in t.r ? t.r.error : undefined;
      if (error || !('upload' in t) || !t.upload || 'error' in t.r) {
        const e = error ?? { reason: 'unknown', message: 'no result', permanent: true };
        // Transient failures are retried with the batch (not committed), never dead-lettered.
        if (!e.permanent) throw new RetryableError(e.message);
        const m = t.m;
        dead.push(toDeadLetter(m, e.reason, e.message));
        const tenant = m.headers['ember-tenant'] ?? 'unknown';
        this.metrics.discarded.inc({ reason: asDiscardReason(e.reason), tenant });
        this.metrics.deadLettered.inc({ topic: m.topic, reason: e.reason });
        this.recordFailure(m, e.message);
        this.log.warn(
          JSON.stringify({
            msg: 'upload dead-lettered',
            reason: e.reason,
            error: e.message.slice(0, 2000),
            ...where(m),
          }),
        );
        continue;
      }
      const { upload, r } = t;
      const tenant = upload.tenant;
      if (r.repairs > 0) this.metrics.labelRepairs.inc({ tenant }, r.repairs);
      if (r.droppedSamples > 0)
        this.metrics.relabelDroppedSamples.inc({ tenant }, r.droppedSamples);
      if (r.droppedSeries > 0)
        this.metrics.discarded.inc({ reason: 'dropped_by_relabel', tenant }, r.droppedSeries);
      this.metrics.decodedBytes.inc({ tenant }, r.decodedBytes);
      decoded.push({ upload, series: r.series });
      const key = agentKeyOfUpload(tenant, upload.params, upload.format);
      void this.fleet.decoded(key, {
        at: Date.now(),
        series: r.series.length,
        bytes: r.decodedBytes,
      });
    }
    await batch.heartbeat();
    // The cardinality guard sees a whole batch per tenant: three round trips, not three per series.
    const byTenant = new Map<string, EncodedSeries[]>();
    for (const d of decoded)
      byTenant.set(d.upload.tenant, [...(byTenant.get(d.upload.tenant) ?? []), ...d.series]);
    for (const [tenant, list] of byTenant) {
      const outcome = await this.labelCache.observe(
        tenant,
        list.map((s) => s.labels),
      );
      list.forEach((s, i) => (s.labels = outcome.labels[i]));
      for (const n of outcome.overflowed.values()) this.metrics.labelOverflow.inc({ tenant }, n);
    }
    for (const { upload, series } of decoded) {
      for (const s of series) {
        normalized.push(
          encodeNormalizedSeries({
            seriesId: `${upload.uploadId}:${s.index}`,
            uploadId: upload.uploadId,
            tenant: upload.tenant,
            labels: s.labels,
            profileTypeIds: s.profileTypeIds,
            startMs: s.startMs,
            endMs: s.endMs,
            pprof: Buffer.from(s.pprof.buffer, s.pprof.byteOffset, s.pprof.byteLength),
          }),
        );
      }
      this.metrics.decodedSeries.inc({ tenant: upload.tenant }, series.length);
    }
    // Both publishes must be acknowledged before the batch may be committed.
    if (normalized.length > 0) await this.broker.publish(TOPICS.normalized, normalized);
    if (dead.length > 0) await this.broker.publish(TOPICS.rawDlq, dead);
  }
}

function where(m: IncomingMessage): Record<string, string> {
  return {
    tenant: m.headers['ember-tenant'] ?? '',
    uploadId: m.headers['ember-upload-id'] ?? '',
    offset: `${m.topic}[${m.partition}]@${m.offset}`,
  };
}
