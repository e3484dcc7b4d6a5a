import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { SharedStore } from '../../cache/index.js';
import { defaultLimits, type DecodeLimits } from '../../decoders/index.js';
import { RetryableError, isPermanent } from '../../model/index.js';
import { Metrics, asDiscardReason } from '../../observability/index.js';
import {
  TOPICS,
  decodeRawUpload,
  encodeNormalizedSeries,
  letterBytes,
  partSeriesId,
  rawUploadProfiles,
  toDeadLetter,
  type IncomingMessage,
  type MessageBatch,
  type OutgoingMessage,
  type QueueBroker,
  type RawUpload,
} from '../../queue/index.js';
import { tenantLimits, type EmberConfig } from '../../runtime/config.js';
import { EMBER_CONFIG, QUEUE_BROKER, SHARED_STORE } from '../core/tokens.js';
import { DecodePool } from './decode-pool.js';
import {
  classify,
  type DecodeTaskResult,
  type DecodeUnit,
  type EncodedSeries,
} from './decode-task.js';
import { tenantRuleConfig } from './enrichment.js';
import { LabelCache } from './label-cache.service.js';
import { FleetRecorder } from '../fleet/fleet.recorder.js';
import { agentKeyOfUpload } from '../fleet/upload-identity.js';
import type { UploadFormat } from '../../protocol/index.js';

// The decode stage: raw uploads in, one normalised series per record out. A message that can
// never decode goes to profiles.raw.v1.dlq with its reason and is counted; anything transient
// (the queue refusing a publish) is thrown, so the slice is retried and not committed (the
// consumer's retry budget dead-letters what never clears). Series ids are
// `${uploadId}:${index}`, deterministic, so a redelivered upload yields the same ids and the
// exporter's delivery dedupe drops the repeats.
//
// No record is ever too large to publish: a series whose pprof exceeds the part budget (the
// smaller of EMBER_MAX_SERIES_BYTES and the normalised topic's record limit, minus room for
// headers) is split into parts (ADR 0008), and the broker cuts every publish into requests
// within the topic's limit. Should the broker still refuse an upload's records for good, that
// upload alone is dead-lettered with the broker's reason; the others of its slice go on.
//
// Memory: a slice is decoded in waves of at most WAVE_BYTES of input, each wave published
// before the next is decoded, so what a slice holds is one wave's output, not the slice's.

/** Room kept for a record's headers (labels JSON, ids) under the topic's record limit. */
const HEADER_HEADROOM = 128 * 1024;
/** Input bytes decoded before their output is published (a single larger upload goes alone). */
const WAVE_BYTES = 8 * 1024 * 1024;
/**
 * Profiles decoded before their output is published (RawUpload.profiles; a single larger upload
 * goes alone). What a wave holds on this thread grows with its series, not its bytes: about
 * 4 KB per series between the decoded result and its records, so 4,096 profiles are ~16 MB,
 * where eight Pushes of 10,000 profiles (80 KB each) in one wave held over 300 MB.
 */
const WAVE_PROFILES = 4096;

interface Decoded {
  m: IncomingMessage;
  upload: RawUpload;
  series: EncodedSeries[];
  result: Extract<DecodeTaskResult, { series: unknown }>;
}

interface Output {
  d: Decoded;
  records: OutgoingMessage[];
}

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
      memoryMb: config.decode.workerMemoryMb,
      registry: metrics.registry,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
  }

  /** The part budget: what one record's pprof may hold on the normalised topic. */
  maxPartBytes(): number {
    const recordLimit = this.broker.maxRecordBytes(TOPICS.normalized);
    return Math.max(
      16 * 1024,
      Math.min(this.config.decode.maxSeriesBytes, recordLimit - HEADER_HEADROOM),
    );
  }

  async handleBatch(batch: MessageBatch): Promise<void> {
    for (const wave of waves(batch.messages)) {
      if (wave.length === 1 && rawUploadProfiles(wave[0]) > WAVE_PROFILES) {
        await this.decodeInUnits(wave[0], batch);
        continue;
      }
      const dead: OutgoingMessage[] = [];
      const partBudget = this.maxPartBytes();
      const decoded = await this.decodeWave(wave, dead, partBudget);
      await batch.heartbeat();
      const outputs = await this.encode(decoded);
      await this.publishOutputs(outputs, dead, partBudget);
      // Dead letters are written before the slice may be committed, like the series.
      if (dead.length > 0) await this.broker.publish(TOPICS.rawDlq, dead);
      for (const o of outputs) this.recordDecoded(o.d.upload, totalsOf(o));
    }
  }

  /**
   * One upload of more than WAVE_PROFILES profiles (a Push of thousands of series), decoded and
   * published WAVE_PROFILES samples at a time, each unit's records written before the next unit
   * is decoded: this thread and a decode worker hold one unit's series, not the upload's (a Push
   * of 40,000 series decoded whole took a worker to 120 of its 128 MiB, and 20,000-40,000 were
   * dead-lettered as profile_size_limit). The series ids are those of a whole decode (each unit
   * numbers its series after the earlier units'), so a redelivery yields the same records.
   *
   * A unit refused for good dead-letters the upload; the units before it stay published, as
   * Pyroscope stores the samples of a Push that decoded when others of it failed. Ingest's scan
   * refuses nearly everything that would fail here before answering 200.
   */
  private async decodeInUnits(m: IncomingMessage, batch: MessageBatch): Promise<void> {
    const dead: OutgoingMessage[] = [];
    let upload: RawUpload;
    try {
      upload = decodeRawUpload(m);
    } catch (err) {
      const e = classify(err);
      await this.broker.publish(TOPICS.rawDlq, [this.deadLetter(m, e.reason, e.message)]);
      return;
    }
    const partBudget = this.maxPartBytes();
    const local = this.broker.localPayloads === true;
    const offloaded = this.pool.offloads(upload.body.length, upload.profiles);
    const handed = upload.inflated?.pprofs;
    const totals: DecodeTotals = {
      series: 0,
      records: 0,
      repairs: 0,
      droppedSamples: 0,
      droppedSeries: 0,
      decodedBytes: 0,
    };
    let total = rawUploadProfiles(m);
    let unit: DecodeUnit = { first: 0, count: WAVE_PROFILES, indexBase: 0, bytesBefore: 0 };
    while (unit.first < total) {
      const stop = this.metrics.time('decode');
      const { inflated: _all, ...rest } = upload;
      const slice = handed?.slice(unit.first, unit.first + unit.count);
      const r = await this.pool
        .run({
          upload: { ...rest, ...(slice ? { inflated: { pprofs: slice } } : {}) },
          limits: this.limitsFor(upload.tenant),
          maxBodyBytes: this.config.ingest.maxBodyBytes,
          maxPartBytes: partBudget,
          rules: tenantRuleConfig(this.config, upload.tenant),
          keepProfile: local && !offloaded,
          keepCompact: local && offloaded && this.config.backends.embedded.enabled,
          unit,
        })
        .finally(stop);
      if ('error' in r) {
        if (!r.error.permanent) throw new RetryableError(r.error.message);
        dead.push(this.deadLetter(m, r.error.reason, r.error.message));
        break;
      }
      // the request's own count: a header that said fewer samples must not leave any undecoded
      total = r.profiles;
      const outputs = await this.encode([{ m, upload, series: r.series, result: r }]);
      await this.publishOutputs(outputs, dead, partBudget);
      if (outputs.length === 0) break; // its records were refused for good: dead-lettered
      const t = totalsOf(outputs[0]);
      totals.series += t.series;
      totals.records += t.records;
      totals.repairs += t.repairs;
      totals.droppedSamples += t.droppedSamples;
      totals.droppedSeries += t.droppedSeries;
      totals.decodedBytes = t.decodedBytes;
      unit = {
        first: unit.first + unit.count,
        count: WAVE_PROFILES,
        indexBase: unit.indexBase + r.emitted,
        bytesBefore: r.inflatedBytes,
      };
      await batch.heartbeat();
    }
    if (dead.length > 0) await this.broker.publish(TOPICS.rawDlq, dead);
    else this.recordDecoded(upload, totals);
  }

  /**
   * The decode limits of a tenant: the global ones with its ingestion window (limits
   * rejectOlderThan / rejectNewerThan), which validation applies as Pyroscope does. Ingest
   * refuses most out-of-window pprof at once; this catches the formats it cannot date there.
   */
  private limitsFor(tenant: string): DecodeLimits {
    const t = tenantLimits(this.config, tenant);
    if (t.rejectOlderThan <= 0 && t.rejectNewerThan <= 0) return this.limits;
    return {
      ...this.limits,
      rejectOlderThanMs: t.rejectOlderThan,
      rejectNewerThanMs: t.rejectNewerThan,
    };
  }

  /** Decodes concurrently (large uploads on worker threads, small ones inline). */
  private async decodeWave(
    wave: IncomingMessage[],
    dead: OutgoingMessage[],
    maxPartBytes: number,
  ): Promise<Decoded[]> {
    const tasks = wave.map(async (m) => {
      const stop = this.metrics.time('decode');
      try {
        let upload: RawUpload;
        try {
          upload = decodeRawUpload(m);
        } catch (err) {
          return { m, error: classify(err) };
        }
        const local = this.broker.localPayloads === true;
        const offloaded = this.pool.offloads(upload.body.length, upload.profiles);
        const r = await this.pool.run({
          upload,
          limits: this.limitsFor(upload.tenant),
          maxBodyBytes: this.config.ingest.maxBodyBytes,
          maxPartBytes,
          rules: tenantRuleConfig(this.config, upload.tenant),
          // The exporter in this process takes the decoded profile, not the bytes, when it can.
          // Not from a worker: cloning its string tables to this thread and holding them in the
          // queue costs more (GC of a large backlog) than decoding the pprof again. A worker
          // builds the embedded store's compact form instead and moves its bytes here, so this
          // thread neither decodes the pprof nor builds that form (ADR 0012).
          keepProfile: local && !offloaded,
          keepCompact: local && offloaded && this.config.backends.embedded.enabled,
        });
        return { m, upload, r };
      } finally {
        stop();
      }
    });
    const out: Decoded[] = [];
    for (const t of await Promise.all(tasks)) {
      const error = 'error' in t ? t.error : 'error' in t.r ? t.r.error : undefined;
      if (error || !('upload' in t) || !t.upload || 'error' in t.r) {
        const e = error ?? { reason: 'unknown', message: 'no result', permanent: true };
        // Transient failures are retried with the slice (not committed), never dead-lettered here.
        if (!e.permanent) throw new RetryableError(e.message);
        dead.push(this.deadLetter(t.m, e.reason, e.message));
        continue;
      }
      out.push({ m: t.m, upload: t.upload, series: t.r.series, result: t.r });
    }
    return out;
  }

  /** Label cardinality guard (one round trip per tenant and wave), then the records. */
  private async encode(decoded: Decoded[]): Promise<Output[]> {
    const byTenant = new Map<string, EncodedSeries[]>();
    for (const d of decoded) {
      let list = byTenant.get(d.upload.tenant);
      if (!list) byTenant.set(d.upload.tenant, (list = []));
      list.push(...d.series);
    }
    for (const [tenant, list] of byTenant) {
      const outcome = await this.labelCache.observe(
        tenant,
        list.map((s) => s.labels),
      );
      list.forEach((s, i) => (s.labels = outcome.labels[i]));
      for (const n of outcome.overflowed.values()) this.metrics.labelOverflow.inc({ tenant }, n);
    }
    return decoded.map((d) => ({ d, records: recordsOf(d.upload, d.series) }));
  }

  /**
   * Publishes the wave's records in as few requests as fit. When the broker refuses them for
   * good, each upload's records are published on their own, so only the upload whose records
   * cannot be written is dead-lettered (with the broker's reason) and the rest are delivered.
   *
   * `partBudget` is the part budget the wave was split with. The topic's limit can be lowered
   * (and learnt, by any partition's publish) after the wave was split: a record refused as too
   * large under a budget that has shrunk since is not the upload's fault, so the slice is retried
   * (and split again within the new budget) instead of dead-lettering it.
   */
  private async publishOutputs(
    outputs: Output[],
    dead: OutgoingMessage[],
    partBudget: number,
  ): Promise<void> {
    const all = outputs.flatMap((o) => o.records);
    if (all.length === 0) return;
    try {
      await this.broker.publish(TOPICS.normalized, all);
      return;
    } catch (err) {
      if (!isPermanent(err)) throw err;
      this.log.warn(`normalised records refused for good (${err.message}); isolating the upload`);
    }
    for (const o of [...outputs]) {
      try {
        await this.broker.publish(TOPICS.normalized, o.records);
      } catch (err) {
        if (!isPermanent(err)) throw err;
        if (err.reason === 'message_too_large' && this.maxPartBytes() < partBudget) {
          throw new RetryableError(
            `the record limit of ${TOPICS.normalized} was lowered after this slice was split (part budget ${partBudget} → ${this.maxPartBytes()} bytes); splitting it again`,
            undefined,
            { cause: err },
          );
        }
        dead.push(this.deadLetter(o.d.m, err.reason, err.message));
        outputs.splice(outputs.indexOf(o), 1);
      }
    }
  }

  private deadLetter(m: IncomingMessage, reason: string, message: string): OutgoingMessage {
    const tenant = m.headers['ember-tenant'] ?? 'unknown';
    this.metrics.discarded.inc({ reason: asDiscardReason(reason), tenant });
    this.metrics.deadLettered.inc({ topic: m.topic, reason });
    this.recordFailure(m, message);
    this.log.warn(
      JSON.stringify({
        msg: 'upload dead-lettered',
        reason,
        error: message.slice(0, 2000),
        ...where(m),
      }),
    );
    return toDeadLetter(m, reason, message);
  }

  private recordDecoded(upload: RawUpload, r: DecodeTotals): void {
    const tenant = upload.tenant;
    if (r.repairs > 0) this.metrics.labelRepairs.inc({ tenant }, r.repairs);
    if (r.droppedSamples > 0) this.metrics.relabelDroppedSamples.inc({ tenant }, r.droppedSamples);
    if (r.droppedSeries > 0)
      this.metrics.discarded.inc({ reason: 'dropped_by_relabel', tenant }, r.droppedSeries);
    this.metrics.decodedBytes.inc({ tenant }, r.decodedBytes);
    this.metrics.decodedSeries.inc({ tenant }, r.series);
    const parts = r.records - r.series;
    if (parts > 0) this.metrics.seriesParts.inc({ tenant }, r.records);
    void this.fleet.decoded(agentKeyOfUpload(tenant, upload.params, upload.format), {
      at: Date.now(),
      series: r.series,
      bytes: r.decodedBytes,
    });
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
}

/** What one upload's decode adds to the metrics and the fleet view. */
interface DecodeTotals {
  series: number;
  records: number;
  repairs: number;
  droppedSamples: number;
  droppedSeries: number;
  decodedBytes: number;
}

function totalsOf({ d, records }: Output): DecodeTotals {
  const r = d.result;
  return {
    series: d.series.length,
    records: records.length,
    repairs: r.repairs,
    droppedSamples: r.droppedSamples,
    droppedSeries: r.droppedSeries,
    decodedBytes: r.decodedBytes,
  };
}

/** The records of one upload: one per series, or one per part of a split series. */
export function recordsOf(upload: RawUpload, series: readonly EncodedSeries[]): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  for (const s of series) {
    const seriesId = `${upload.uploadId}:${s.index}`;
    const count = s.parts.length;
    s.parts.forEach((bytes, i) => {
      const part = count > 1 ? { index: i + 1, count } : undefined;
      out.push(
        encodeNormalizedSeries({
          seriesId: part ? partSeriesId(seriesId, part) : seriesId,
          profileId: seriesId,
          ...(part ? { part } : {}),
          uploadId: upload.uploadId,
          tenant: upload.tenant,
          labels: s.labels,
          profileTypeIds: s.profileTypeIds,
          startMs: s.startMs,
          endMs: s.endMs,
          pprof: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          ...(count === 1 && s.profile ? { profile: s.profile } : {}),
          ...(count === 1 && s.compact ? { compact: s.compact } : {}),
        }),
      );
    });
  }
  return out;
}

/**
 * Cuts a slice into waves of at most WAVE_BYTES of input and WAVE_PROFILES profiles (at least
 * one message each).
 */
export function* waves(messages: readonly IncomingMessage[]): Generator<IncomingMessage[]> {
  let cur: IncomingMessage[] = [];
  let bytes = 0;
  let profiles = 0;
  for (const m of messages) {
    const n = letterBytes(m);
    const k = rawUploadProfiles(m);
    if (cur.length > 0 && (bytes + n > WAVE_BYTES || profiles + k > WAVE_PROFILES)) {
      yield cur;
      cur = [];
      bytes = 0;
      profiles = 0;
    }
    cur.push(m);
    bytes += n;
    profiles += k;
  }
  if (cur.length > 0) yield cur;
}

function where(m: IncomingMessage): Record<string, string> {
  return {
    tenant: m.headers['ember-tenant'] ?? '',
    uploadId: m.headers['ember-upload-id'] ?? '',
    offset: `${m.topic}[${m.partition}]@${m.offset}`,
  };
}
