import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compileRelabelRules, type RelabelRuleConfig } from '../model/relabel-rules.js';
import { parseTargets, type Target } from './targets.js';

// Configuration, validated once at boot: EMBER_* environment variables for deployment settings,
// plus an optional YAML file (EMBER_CONFIG) for what is structured (tenants, credentials,
// limits, global tags, relabel rules, backends). `loadConfig` either returns a complete typed
// config or throws ConfigError listing every problem, before any connection is opened.

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const MiB = 1024 * 1024;

const intFromEnv = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** "30s", "10m", "1h", "500ms" or plain milliseconds */
const durationFromEnv = z
  .string()
  .trim()
  .regex(/^\d+(ms|s|m|h)?$/, 'must be a duration like 500ms, 30s, 10m or 1h')
  .transform((s) => {
    const m = /^(\d+)(ms|s|m|h)?$/.exec(s)!;
    const n = Number(m[1]);
    return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[(m[2] ?? 'ms') as 'ms'];
  });

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), 'must be true or false')
  .transform((s) => ['true', '1', 'yes'].includes(s));

export const envSchema = z.object({
  EMBER_HTTP_PORT: intFromEnv(0, 65535).default(9529),
  /** unset: 127.0.0.1 on embedded defaults with no credentials configured, else 0.0.0.0 */
  EMBER_HTTP_HOST: z.string().trim().min(1).optional(),
  /** the gRPC port (cleartext HTTP/2) of processes that ingest; `0` or `off` disables it */
  EMBER_GRPC_PORT: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^(off|\d+)$/, 'must be a port number, or 0 / off to disable gRPC')
    .transform((s) => (s === 'off' ? 0 : Number(s)))
    .pipe(z.number().int().min(0).max(65535))
    .default(4317),
  EMBER_DATA_DIR: z.string().trim().min(1).default('./data'),
  EMBER_TARGETS: z.string().default('all'),
  EMBER_KAFKA_BROKERS: z.string().trim().optional(),
  EMBER_KAFKA_CLIENT_ID: z.string().trim().min(1).default('emberflow'),
  /** prefixes Kafka topics, consumer groups and Redis keys: several deployments share a cluster */
  EMBER_NAMESPACE: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._-]*$/, 'may hold only letters, digits, ".", "_" and "-"')
    .default(''),
  EMBER_KAFKA_RAW_PARTITIONS: intFromEnv(1, 1024).default(6),
  EMBER_KAFKA_NORMALIZED_PARTITIONS: intFromEnv(1, 1024).default(6),
  EMBER_KAFKA_REQUEST_TIMEOUT: durationFromEnv.default(30_000),
  /** how long the broker may hold a consumer's fetch (fetch.max.wait.ms): the stages' pickup latency */
  EMBER_KAFKA_FETCH_MAX_WAIT: durationFromEnv.default(200),
  EMBER_REDIS_URL: z
    .string()
    .trim()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  EMBER_CONFIG: z.string().trim().optional(),
  EMBER_LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  EMBER_LOG_FORMAT: z.enum(['json', 'text']).default('text'),
  EMBER_MAX_BODY_BYTES: intFromEnv(1024, 1024 * MiB).default(32 * MiB),
  /** in-process queue bound; 128 MiB keeps the all-in-one process within 512 MB of RSS */
  EMBER_MEMORY_QUEUE_BYTES: intFromEnv(MiB, 16 * 1024 * MiB).default(128 * MiB),
  EMBER_DEDUPE_WINDOW: durationFromEnv.default(10 * 60_000),
  EMBER_REQUIRE_TENANT: bool.default(false),
  EMBER_SHUTDOWN_TIMEOUT: durationFromEnv.default(30_000),
  /** decoder worker threads; unset = cores - 1 (at least 1); 0 = decode inline */
  EMBER_DECODE_WORKERS: intFromEnv(0, 64).optional(),
  /** request bodies at least this large are decoded on a worker thread */
  EMBER_DECODE_WORKER_THRESHOLD: intFromEnv(0, 1024 * MiB).default(64 * 1024),
  /** old-generation heap of each decode worker, MiB: an upload that needs more is refused */
  EMBER_DECODE_WORKER_MEMORY_MB: intFromEnv(64, 64 * 1024).default(128),
  /** shortcut for one Pyroscope endpoint (user:password@ in the URL = Basic credentials) */
  EMBER_PYROSCOPE_URL: z.string().trim().url('must be an http(s) URL').optional(),
  /** Bearer token for EMBER_PYROSCOPE_URL (kept out of the URL and the config file) */
  EMBER_PYROSCOPE_BEARER_TOKEN: z.string().trim().min(1).optional(),
  EMBER_EMBEDDED_STORE: bool.optional(),
  /** value bytes a consumer hands a stage per call (one larger message still goes alone) */
  EMBER_CONSUMER_BATCH_BYTES: intFromEnv(64 * 1024, 1024 * MiB).default(8 * MiB),
  /** fetched but unprocessed bytes one consumer holds; past it, full partitions are paused */
  EMBER_CONSUMER_BUFFER_BYTES: intFromEnv(MiB, 16 * 1024 * MiB).default(64 * MiB),
  /** a partition with lag and no commit for this long is reported stalled (/readyz, /metrics) */
  EMBER_STALL_TIMEOUT: durationFromEnv.default(120_000),
  /** a message still failing after this long (and EMBER_RETRY_MIN_ATTEMPTS) is dead-lettered */
  EMBER_RETRY_BUDGET: durationFromEnv.default(3_600_000),
  EMBER_RETRY_MIN_ATTEMPTS: intFromEnv(1, 1_000_000).default(5),
  /** largest pprof of one normalised record: a larger series is split into parts */
  EMBER_MAX_SERIES_BYTES: intFromEnv(64 * 1024, 1024 * MiB).default(4 * MiB),
  /** bound of the embedded dead-letter store (data dir); the oldest letters go first */
  EMBER_DEAD_LETTER_BYTES: intFromEnv(MiB, 1024 * 1024 * MiB).default(1024 * MiB),
  /** bytes of upload bodies held at once; unset = derived from the memory available */
  EMBER_INGEST_INFLIGHT_BYTES: intFromEnv(MiB, 64 * 1024 * MiB).optional(),
  /** uploads received or handled at once */
  EMBER_INGEST_MAX_CONCURRENT: intFromEnv(1, 100_000).default(128),
  /** how long an upload waits (body unread) for room before it is shed; 0 = shed at once */
  EMBER_INGEST_ADMISSION_WAIT: durationFromEnv.default(1_000),
  /** new uploads are shed while the event loop lags more than this; 0 = never */
  EMBER_INGEST_MAX_EVENT_LOOP_DELAY: durationFromEnv.default(1_000),
  /** profile uploads wait (then 503) while the pipeline behind ingest is this far behind; 0 = never */
  EMBER_INGEST_MAX_BACKLOG: durationFromEnv.default(2_000),
  EMBER_INGEST_BACKLOG_WAIT: durationFromEnv.default(5_000),
  /** request line and headers must arrive within this (408) */
  EMBER_HTTP_HEADERS_TIMEOUT: durationFromEnv.default(10_000),
  /** a whole request (headers and body) must arrive within this (408) */
  EMBER_HTTP_REQUEST_TIMEOUT: durationFromEnv.default(120_000),
  /** average bytes/s a body must keep up after its first 5 s (408); 0 = no rate check */
  EMBER_HTTP_BODY_MIN_RATE: intFromEnv(0, 1024 * MiB).default(16 * 1024),
  /** an upload whose body arrived must be answered within this (503 + Retry-After) */
  EMBER_HTTP_HANDLER_TIMEOUT: durationFromEnv.default(10_000),
  /** tenants not named in the config that get their own metric label value; later ones: other */
  EMBER_METRICS_MAX_TENANTS: intFromEnv(0, 100_000).default(10),
  /** query worker threads of the process hosting the embedded store; 0 = on the event loop */
  EMBER_QUERY_WORKERS: intFromEnv(0, 64).default(1),
  /** a query's time budget, waiting included; past it, it is cancelled (503) */
  EMBER_QUERY_TIMEOUT: durationFromEnv.default(30_000),
  /** queries waiting for a worker; more get 503 at once */
  EMBER_QUERY_MAX_QUEUED: intFromEnv(0, 10_000).default(16),
  /** heap of a query worker, MiB; a query needing more gets 422 */
  EMBER_QUERY_MEMORY_MB: intFromEnv(64, 64 * 1024).default(256),
});

/**
 * Every EMBER_* variable `loadConfig` reads, taken from its schema so the two cannot drift.
 * Deployment descriptors (docker-compose.yml, k8s/) are checked against this list.
 */
export const ENV_VARS = Object.keys(envSchema.shape) as readonly (keyof typeof envSchema.shape)[];

const credentialSchema = z.union([
  z.object({ basic: z.object({ username: z.string().min(1), password: z.string().min(1) }) }),
  z.object({ bearer: z.string().min(1) }),
]);

/** In the YAML file: milliseconds as a number, or "500ms", "30s", "10m", "1h", "7d". */
const durationYaml = z.union([
  z.number().int().min(0),
  z
    .string()
    .trim()
    .regex(/^\d+(ms|s|m|h|d)?$/, 'must be a duration like 500ms, 30s, 10m, 1h or 7d')
    .transform((s) => {
      const m = /^(\d+)(ms|s|m|h|d)?$/.exec(s)!;
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
      return Number(m[1]) * unit[(m[2] ?? 'ms') as 'ms'];
    }),
]);

const limitsSchema = z.object({
  /** per-tenant ingestion rate, bytes/s of request bodies; 0 = unlimited */
  ingestionRateBytes: z
    .number()
    .int()
    .min(0)
    .default(4 * MiB),
  ingestionBurstBytes: z
    .number()
    .int()
    .min(0)
    .default(2 * MiB),
  maxProfileBytes: z
    .number()
    .int()
    .min(1024)
    .default(4 * MiB),
  /**
   * Pyroscope's validation.reject-older-than as a tenant limit: a profile whose time is older
   * is refused (not_in_ingestion_window). 0 = off, the default: the embedded store takes
   * backfill; the Pyroscope backend applies its own window (backends.pyroscope[].rejectOlderThan)
   */
  rejectOlderThan: durationYaml.default(0),
  /** validation.reject-newer-than: a profile further in the future is refused; 0 = off */
  rejectNewerThan: durationYaml.default(0),
});

/**
 * A tenant's overrides: the keys of limitsSchema without their defaults, so a key the tenant
 * leaves out keeps the global value (`limitsSchema.partial()` would fill in the defaults).
 */
const tenantLimitsSchema = z.object(
  Object.fromEntries(
    Object.entries(limitsSchema.shape).map(([k, v]) => [k, v.unwrap().optional()]),
  ),
) as unknown as z.ZodType<Partial<z.infer<typeof limitsSchema>>>;

// The sending chain's retry policy, one shape for every backend kind (Pyroscope and OTLP alike)
const retryYaml = z
  .object({
    enabled: z.boolean().default(true),
    initialInterval: durationYaml.default(500),
    maxInterval: durationYaml.default(30_000),
    multiplier: z.number().min(1).max(10).default(1.5),
    randomizationFactor: z.number().min(0).max(1).default(0.5),
    /** one chain of attempts; then the consumed batch is retried by the queue */
    maxElapsed: durationYaml.default(300_000),
  })
  .strict()
  .default({
    enabled: true,
    initialInterval: 500,
    maxInterval: 30_000,
    multiplier: 1.5,
    randomizationFactor: 0.5,
    maxElapsed: 300_000,
  });

const pyroscopeEndpointSchema = z
  .object({
    /** unique; part of the delivered-ids keys (renaming resends what is still redeliverable) */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only')
      .optional(),
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be http(s)'),
    /** Emberflow tenant → X-Scope-OrgID; "*" for the rest; unmapped = the tenant itself; "" = none */
    tenants: z.record(z.string(), z.string()).default({}),
    basicAuth: z
      .object({ username: z.string().min(1), password: z.string() })
      .strict()
      .optional(),
    bearerToken: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    compression: z.enum(['gzip', 'none']).default('gzip'),
    /** per attempt */
    timeout: durationYaml.default(30_000),
    retry: retryYaml,
    batch: z
      .object({
        maxSeries: z.number().int().min(1).max(100_000).default(500),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(4 * MiB),
        flushInterval: durationYaml.default(200),
        maxInFlightBytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * MiB),
        /** one Push request's size before gzip; larger batches are split */
        maxRequestBytes: z
          .number()
          .int()
          .min(1024)
          .default(16 * MiB),
      })
      .strict()
      .default({
        maxSeries: 500,
        maxBytes: 4 * MiB,
        flushInterval: 200,
        maxInFlightBytes: 64 * MiB,
        maxRequestBytes: 16 * MiB,
      }),
    /** Pyroscope's validation.reject-older-than: older series are dead-lettered; 0 = off */
    rejectOlderThan: durationYaml.default(3_600_000),
  })
  .strict()
  .refine((e) => !(e.basicAuth && e.bearerToken), 'use basicAuth or bearerToken, not both');

export const OTLP_SIGNAL_NAMES = ['traces', 'metrics', 'logs'] as const;

/** An OTLP/HTTP receiver (Tempo, Jaeger, an OTel Collector, Datakit) spans, metrics or logs go to. */
const otlpEndpointSchema = z
  .object({
    /** unique; part of the delivered-ids keys */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only')
      .optional(),
    /** base URL: requests go to <url>/v1/traces, /v1/metrics, /v1/logs */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be http(s)'),
    /** the signals this receiver takes */
    signals: z.array(z.enum(OTLP_SIGNAL_NAMES)).min(1).default(['traces', 'metrics', 'logs']),
    /** extra headers on every request (credentials, X-Scope-OrgID of a multi-tenant Tempo) */
    headers: z.record(z.string(), z.string()).default({}),
    compression: z.enum(['gzip', 'none']).default('gzip'),
    /** per attempt */
    timeout: durationYaml.default(30_000),
    retry: retryYaml,
    batch: z
      .object({
        /** requests merged into one export */
        maxRequests: z.number().int().min(1).max(10_000).default(100),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(4 * MiB),
        flushInterval: durationYaml.default(200),
        maxInFlightBytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * MiB),
      })
      .strict()
      .default({
        maxRequests: 100,
        maxBytes: 4 * MiB,
        flushInterval: 200,
        maxInFlightBytes: 64 * MiB,
      }),
  })
  .strict();

const embeddedStoreSchema = z
  .object({
    enabled: z.boolean().default(true),
    retention: durationYaml.default(7 * 86_400_000),
    maxBytes: z
      .number()
      .int()
      .min(MiB)
      .default(10 * 1024 * MiB),
  })
  .strict();

const backendsSchema = z
  .object({
    pyroscope: z.array(pyroscopeEndpointSchema).default([]),
    /** OTLP receivers that spans, metrics and logs are forwarded to */
    otlp: z.array(otlpEndpointSchema).default([]),
    embedded: embeddedStoreSchema.default({
      enabled: true,
      retention: 7 * 86_400_000,
      maxBytes: 10 * 1024 * MiB,
    }),
  })
  .strict();

export type PyroscopeEndpointConfig = z.infer<typeof pyroscopeEndpointSchema> & { name: string };

export type OtlpEndpointConfig = z.infer<typeof otlpEndpointSchema> & { name: string };

export interface BackendsConfig {
  pyroscope: PyroscopeEndpointConfig[];
  otlp: OtlpEndpointConfig[];
  embedded: z.infer<typeof embeddedStoreSchema>;
}

/** Prometheus-style relabel rules; validated (regexes compiled) at load, see relabel-rules.ts */
const relabelRuleSchema = z
  .object({
    action: z
      .enum(['replace', 'keep', 'drop', 'labeldrop', 'labelkeep', 'hashmod', 'labelmap'])
      .optional(),
    sourceLabels: z.array(z.string()).optional(),
    separator: z.string().optional(),
    regex: z.string().optional(),
    targetLabel: z.string().optional(),
    replacement: z.string().optional(),
    modulus: z.number().int().positive().optional(),
  })
  .strict();

const relabelSchema = z.array(relabelRuleSchema).default([]);

export const fileSchema = z
  .object({
    /** added to every series at the lowest precedence (Datakit's [inputs.pyroscope.tags]) */
    globalTags: z.record(z.string(), z.string()).default({}),
    /** rules applied to every tenant's series labels, then the tenant's own */
    relabel: relabelSchema,
    /** rules applied to every sample's labels (span_id, thread_name, ...), then the tenant's own */
    sampleRelabel: relabelSchema,
    /** cardinality guard: past this many distinct values, new values of a label become `overflowValue` */
    labelCardinality: z
      .object({
        maxValuesPerLabel: z.number().int().min(0).default(10_000),
        overflowValue: z.string().min(1).default('__overflow__'),
        /** labels never capped (service identity) */
        exempt: z
          .array(z.string())
          .default(['service_name', '__name__', 'pyroscope_spy', '__delta__']),
      })
      .default({
        maxValuesPerLabel: 10_000,
        overflowValue: '__overflow__',
        exempt: ['service_name', '__name__', 'pyroscope_spy', '__delta__'],
      }),
    limits: limitsSchema.default(limitsSchema.parse({})),
    /** who may send: see libs/pipeline/tenancy/tenant-resolver.ts */
    tenancy: z
      .object({
        /** refuse (401) every tenant not listed under `tenants` */
        closed: z.boolean().default(false),
        /** every tenant must present one of its credentials (401 otherwise) */
        requireCredentials: z.boolean().default(false),
      })
      .strict()
      .default({ closed: false, requireCredentials: false }),
    tenants: z
      .record(
        z.string().min(1),
        z.object({
          credentials: z.array(credentialSchema).default([]),
          limits: tenantLimitsSchema.default({}),
          relabel: z.array(relabelRuleSchema).optional(),
          sampleRelabel: z.array(relabelRuleSchema).optional(),
        }),
      )
      .default({}),
    backends: backendsSchema.default({
      pyroscope: [],
      otlp: [],
      embedded: { enabled: true, retention: 7 * 86_400_000, maxBytes: 10 * 1024 * MiB },
    }),
  })
  .strict();

export type FileConfig = z.infer<typeof fileSchema>;
export type TenantLimits = z.infer<typeof limitsSchema>;

export interface EmberConfig {
  http: {
    port: number;
    host: string;
    /** EMBER_HTTP_HOST was unset and the safe default (loopback) applied: boot says so */
    loopbackByDefault: boolean;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    bodyMinBytesPerSecond: number;
    handlerTimeoutMs: number;
  };
  /** the gRPC edge; null when EMBER_GRPC_PORT is 0 or off. It binds the HTTP host. */
  grpc: { port: number; host: string } | null;
  dataDir: string;
  targets: Target[];
  kafka: {
    brokers: string[];
    clientId: string;
    /** prefix of every topic and consumer group (shared clusters, test isolation) */
    namespace: string;
    rawPartitions: number;
    normalizedPartitions: number;
    requestTimeoutMs: number;
    /** the broker holds a consumer's fetch at most this long (fetch.max.wait.ms) */
    fetchMaxWaitMs: number;
  } | null;
  redis: { url: string; namespace: string } | null;
  log: { level: 'error' | 'warn' | 'info' | 'debug'; format: 'json' | 'text' };
  ingest: {
    maxBodyBytes: number;
    dedupeWindowMs: number;
    requireTenant: boolean;
    /** admission control (libs/pipeline/http/admission.ts) */
    inflightBytes: number;
    maxConcurrent: number;
    admissionWaitMs: number;
    maxEventLoopDelayMs: number;
    /** profile uploads are held while the decoder and exporter are this far behind (ms); 0 = never */
    maxBacklogMs: number;
    /** how long a profile upload held only by that backlog may wait before 503 (ms) */
    backlogWaitMs: number;
  };
  memoryQueueBytes: number;
  /** label bounds of the self-metrics (observability/label-bounds.ts) */
  metrics: { maxTenants: number };
  /** the query API's executor (libs/pipeline/query/query-executor.ts) */
  query: { workers: number; timeoutMs: number; maxQueued: number; memoryMb: number };
  shutdownTimeoutMs: number;
  decode: {
    workers: number;
    workerThresholdBytes: number;
    /** old-generation heap of each decode worker, MiB */
    workerMemoryMb: number;
    /** largest pprof of one normalised record; larger series become parts */
    maxSeriesBytes: number;
  };
  /** how the stages consume: batch and buffer sizes, stall detection, retry budget */
  consumer: {
    batchBytes: number;
    bufferBytes: number;
    stallAfterMs: number;
    retryBudgetMs: number;
    retryMinAttempts: number;
  };
  /** bound of the embedded dead-letter store (no Kafka) */
  deadLetterBytes: number;
  file: FileConfig;
  /** file's backends plus EMBER_PYROSCOPE_URL, names resolved and unique */
  backends: BackendsConfig;
  /** the YAML file the structured settings came from, if any */
  configPath: string | null;
}

/** Reads env (and the YAML file it names) into a typed config, or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): EmberConfig {
  const problems: string[] = [];
  // Empty values count as unset, the way shells and compose files pass them.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(
      ([k, v]) => k.startsWith('EMBER_') && v !== undefined && v.trim() !== '',
    ),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]);
      problems.push(`${key}=${JSON.stringify(cleaned[key])}: ${issue.message}`);
    }
  }
  let targets: Target[] = [];
  try {
    targets = parseTargets(cleaned.EMBER_TARGETS ?? 'all');
  } catch (err) {
    problems.push(`EMBER_TARGETS: ${(err as Error).message}`);
  }

  let file: FileConfig = fileSchema.parse({});
  const configPath = cleaned.EMBER_CONFIG ? resolve(cleaned.EMBER_CONFIG) : null;
  if (configPath) {
    try {
      const raw: unknown = parseYaml(readFileSync(configPath, 'utf8')) ?? {};
      const f = fileSchema.safeParse(raw);
      if (f.success) {
        file = f.data;
        // regexes and rule shapes are checked here, once, so a bad rule fails at boot
        const check = (rules: RelabelRuleConfig[], where: string): void => {
          try {
            compileRelabelRules(rules, where);
          } catch (err) {
            problems.push(`${configPath}: ${(err as Error).message}`);
          }
        };
        check(file.relabel, 'relabel');
        check(file.sampleRelabel, 'sampleRelabel');
        for (const [t, tc] of Object.entries(file.tenants)) {
          check(tc.relabel ?? [], `tenants.${t}.relabel`);
          check(tc.sampleRelabel ?? [], `tenants.${t}.sampleRelabel`);
          if (file.tenancy.requireCredentials && tc.credentials.length === 0)
            problems.push(
              `${configPath}: tenants.${t}: no credentials, but tenancy.requireCredentials is on: the tenant could never send`,
            );
        }
      } else
        for (const issue of f.error.issues)
          problems.push(`${configPath}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    } catch (err) {
      problems.push(`EMBER_CONFIG: cannot read ${configPath}: ${(err as Error).message}`);
    }
  }

  const brokers = (cleaned.EMBER_KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const b of brokers) {
    if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(b))
      problems.push(`EMBER_KAFKA_BROKERS: "${b}" is not host:port`);
  }
  // Without Kafka the stages talk through an in-process queue, so they must share a process.
  if (brokers.length === 0 && targets.length > 0 && targets.length < 3) {
    problems.push(
      `EMBER_TARGETS=${targets.join(',')} needs EMBER_KAFKA_BROKERS: without Kafka the stages can only run together in one process (EMBER_TARGETS=all)`,
    );
  }

  const backends = resolveBackends(file, parsed.success ? parsed.data : undefined, problems);

  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  // Embedded defaults (no Kafka, no Redis) with no credentials: a laptop's trial run, which no
  // other machine should reach unless EMBER_HTTP_HOST says so.
  const loopbackByDefault =
    e.EMBER_HTTP_HOST === undefined &&
    brokers.length === 0 &&
    !e.EMBER_REDIS_URL &&
    !Object.values(file.tenants).some((t) => t.credentials.length > 0);
  return {
    http: {
      port: e.EMBER_HTTP_PORT,
      host: e.EMBER_HTTP_HOST ?? (loopbackByDefault ? '127.0.0.1' : '0.0.0.0'),
      loopbackByDefault,
      headersTimeoutMs: e.EMBER_HTTP_HEADERS_TIMEOUT,
      requestTimeoutMs: e.EMBER_HTTP_REQUEST_TIMEOUT,
      bodyMinBytesPerSecond: e.EMBER_HTTP_BODY_MIN_RATE,
      handlerTimeoutMs: e.EMBER_HTTP_HANDLER_TIMEOUT,
    },
    grpc:
      e.EMBER_GRPC_PORT === 0
        ? null
        : {
            port: e.EMBER_GRPC_PORT,
            host: e.EMBER_HTTP_HOST ?? (loopbackByDefault ? '127.0.0.1' : '0.0.0.0'),
          },
    dataDir: resolve(e.EMBER_DATA_DIR),
    targets,
    kafka:
      brokers.length > 0
        ? {
            brokers,
            clientId: e.EMBER_KAFKA_CLIENT_ID,
            namespace: e.EMBER_NAMESPACE,
            rawPartitions: e.EMBER_KAFKA_RAW_PARTITIONS,
            normalizedPartitions: e.EMBER_KAFKA_NORMALIZED_PARTITIONS,
            requestTimeoutMs: e.EMBER_KAFKA_REQUEST_TIMEOUT,
            fetchMaxWaitMs: e.EMBER_KAFKA_FETCH_MAX_WAIT,
          }
        : null,
    redis: e.EMBER_REDIS_URL ? { url: e.EMBER_REDIS_URL, namespace: e.EMBER_NAMESPACE } : null,
    log: { level: e.EMBER_LOG_LEVEL, format: e.EMBER_LOG_FORMAT },
    ingest: {
      maxBodyBytes: e.EMBER_MAX_BODY_BYTES,
      dedupeWindowMs: e.EMBER_DEDUPE_WINDOW,
      requireTenant: e.EMBER_REQUIRE_TENANT,
      inflightBytes: e.EMBER_INGEST_INFLIGHT_BYTES ?? defaultInflightBytes(),
      maxConcurrent: e.EMBER_INGEST_MAX_CONCURRENT,
      admissionWaitMs: e.EMBER_INGEST_ADMISSION_WAIT,
      maxEventLoopDelayMs: e.EMBER_INGEST_MAX_EVENT_LOOP_DELAY,
      maxBacklogMs: e.EMBER_INGEST_MAX_BACKLOG,
      backlogWaitMs: e.EMBER_INGEST_BACKLOG_WAIT,
    },
    memoryQueueBytes: e.EMBER_MEMORY_QUEUE_BYTES,
    metrics: { maxTenants: e.EMBER_METRICS_MAX_TENANTS },
    query: {
      workers: e.EMBER_QUERY_WORKERS,
      timeoutMs: e.EMBER_QUERY_TIMEOUT,
      maxQueued: e.EMBER_QUERY_MAX_QUEUED,
      memoryMb: e.EMBER_QUERY_MEMORY_MB,
    },
    shutdownTimeoutMs: e.EMBER_SHUTDOWN_TIMEOUT,
    decode: {
      workers: e.EMBER_DECODE_WORKERS ?? Math.max(1, availableParallelism() - 1),
      workerThresholdBytes: e.EMBER_DECODE_WORKER_THRESHOLD,
      workerMemoryMb: e.EMBER_DECODE_WORKER_MEMORY_MB,
      maxSeriesBytes: e.EMBER_MAX_SERIES_BYTES,
    },
    consumer: {
      batchBytes: e.EMBER_CONSUMER_BATCH_BYTES,
      bufferBytes: e.EMBER_CONSUMER_BUFFER_BYTES,
      stallAfterMs: e.EMBER_STALL_TIMEOUT,
      retryBudgetMs: e.EMBER_RETRY_BUDGET,
      retryMinAttempts: e.EMBER_RETRY_MIN_ATTEMPTS,
    },
    deadLetterBytes: e.EMBER_DEAD_LETTER_BYTES,
    file,
    backends,
    configPath,
  };
}

/** The file's backends plus the EMBER_PYROSCOPE_* shortcut, with unique names. */
function resolveBackends(
  file: FileConfig,
  env: z.infer<typeof envSchema> | undefined,
  problems: string[],
): BackendsConfig {
  const list: PyroscopeEndpointConfig[] = [];
  const endpoints = [...file.backends.pyroscope];
  if (env?.EMBER_PYROSCOPE_URL) {
    const u = new URL(env.EMBER_PYROSCOPE_URL);
    const basic = u.username
      ? {
          username: decodeURIComponent(u.username),
          password: decodeURIComponent(u.password),
        }
      : undefined;
    u.username = '';
    u.password = '';
    endpoints.push(
      pyroscopeEndpointSchema.parse({
        url: u.toString().replace(/\/$/, ''),
        basicAuth: basic,
        bearerToken: env.EMBER_PYROSCOPE_BEARER_TOKEN,
      }),
    );
  } else if (env?.EMBER_PYROSCOPE_BEARER_TOKEN) {
    problems.push('EMBER_PYROSCOPE_BEARER_TOKEN is set without EMBER_PYROSCOPE_URL');
  }
  const seen = new Set<string>();
  for (const ep of endpoints) {
    const name = ep.name ?? `pyroscope-${new URL(ep.url).host.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    if (seen.has(name) || name === 'embedded') {
      problems.push(
        `backends.pyroscope: two endpoints are named "${name}" (set distinct names: each keeps its own delivered-ids)`,
      );
    }
    seen.add(name);
    list.push({ ...ep, name });
  }
  const otlp: OtlpEndpointConfig[] = [];
  const otlpNames = new Set<string>();
  for (const ep of file.backends.otlp) {
    const name = ep.name ?? `otlp-${new URL(ep.url).host.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    if (otlpNames.has(name) || name === 'embedded') {
      problems.push(
        `backends.otlp: two endpoints are named "${name}" (set distinct names: each keeps its own delivered-ids)`,
      );
    }
    otlpNames.add(name);
    otlp.push({ ...ep, name });
  }
  const embedded = { ...file.backends.embedded };
  if (env?.EMBER_EMBEDDED_STORE !== undefined) embedded.enabled = env.EMBER_EMBEDDED_STORE;
  return { pyroscope: list, otlp, embedded };
}

/**
 * The default in-flight budget of upload bodies: 1/16 of the memory available to the process
 * (its cgroup limit when it has one, else the machine's), between 32 MiB and 512 MiB. A body in
 * flight costs about its size once more while it is published, and the rest of the process
 * (decode, export, the in-process queue) has its own bounds, so 1/16 leaves room for all of it
 * in a container sized for the workload: 64 MiB in a 1 GiB pod, 256 MiB in 4 GiB.
 */
export function defaultInflightBytes(
  total = totalmem(),
  constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.(),
): number {
  const available = constrained && constrained > 0 && constrained < total ? constrained : total;
  return Math.min(512 * MiB, Math.max(32 * MiB, Math.floor(available / 16)));
}

/**
 * Where a signal's OTLP requests go: the OTLP backends configured for it, plus the embedded span
 * store for traces. Empty: the signal is refused at ingest (never accepted and dropped).
 */
export function otlpDestinations(
  config: EmberConfig,
  signal: (typeof OTLP_SIGNAL_NAMES)[number],
): string[] {
  const out = config.backends.otlp.filter((b) => b.signals.includes(signal)).map((b) => b.name);
  if (signal === 'traces' && config.backends.embedded.enabled) out.unshift('embedded');
  return out;
}

/** The limits in force for a tenant: its overrides on top of the global ones. */
export function tenantLimits(config: EmberConfig, tenant: string): TenantLimits {
  return { ...config.file.limits, ...(config.file.tenants[tenant]?.limits ?? {}) };
}
