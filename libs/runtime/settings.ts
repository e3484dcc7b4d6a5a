import type { ENV_VARS } from './config.js';
import type { Target } from './targets.js';

// What each setting means, for people: the one place a setting is described. `--help`, the
// README's variable table and docs/configuration.md are rendered from here
// (config-reference.ts), and config-reference.spec.ts fails, naming the setting, when this file
// and the schemas in config.ts disagree: a variable or YAML key without an entry (or an entry
// for one that no longer exists), a documented default that is not the schema's, an example the
// schema rejects. Adding a setting: add it to the schema, add its entry here, run
// `npm run docs:config` to rewrite the generated parts of README.md and docs/configuration.md.

export type EnvVar = (typeof ENV_VARS)[number];

export interface EnvSetting {
  /**
   * The default as a user would write it ("30s", "9529"); the spec checks that the schema
   * reads it as its own default. null: the variable has no default value (see `unset`).
   */
  default: string | null;
  /** what leaving it unset does, for a variable without a default value */
  unset?: string;
  meaning: string;
  /** a value the schema accepts */
  example: string;
}

export const TARGET_DOCS: Record<Target | 'all', string> = {
  all: 'every stage in one process (the default; needs no Kafka)',
  ingest: 'the HTTP edge: accepts the agents’ uploads, publishes them to profiles.raw.v1',
  decoder: 'decodes raw uploads into pprof series (profiles.normalized.v1)',
  exporter:
    'batches series to the backends; hosts the embedded store, its query API and the web UI',
};

/** Every EMBER_* variable; the Record type makes a missing one a type error. */
export const ENV_SETTINGS: Record<EnvVar, EnvSetting> = {
  EMBER_HTTP_PORT: {
    default: '9529',
    meaning: 'HTTP port: ingest, query API, web UI, /healthz, /readyz, /metrics (0: any free port)',
    example: '4040',
  },
  EMBER_HTTP_HOST: {
    default: null,
    unset:
      '127.0.0.1 on embedded defaults (no Kafka, no Redis) with no credentials configured, else 0.0.0.0',
    meaning: 'bind address; set 0.0.0.0 to accept agents from other machines',
    example: '0.0.0.0',
  },
  EMBER_GRPC_PORT: {
    default: '4317',
    meaning:
      'gRPC port (cleartext HTTP/2, same bind address as HTTP) of processes that ingest: OTLP and push.v1.PusherService/Push; 0 or off disables it',
    example: 'off',
  },
  EMBER_DATA_DIR: {
    default: './data',
    meaning:
      'where the embedded defaults keep their files: the store (store/), state.sqlite, deadletters.sqlite',
    example: '/var/lib/emberflow',
  },
  EMBER_TARGETS: {
    default: 'all',
    meaning:
      '`all`, or a comma list of `ingest`, `decoder`, `exporter` (fewer than all needs Kafka)',
    example: 'ingest,decoder',
  },
  EMBER_KAFKA_BROKERS: {
    default: null,
    unset: 'the in-process queue (not durable)',
    meaning: 'Kafka bootstrap brokers, `host:port,...`',
    example: 'kafka-1:9092,kafka-2:9092',
  },
  EMBER_KAFKA_CLIENT_ID: {
    default: 'emberflow',
    meaning: 'Kafka client id, suffixed with the targets',
    example: 'emberflow-eu1',
  },
  EMBER_NAMESPACE: {
    default: '',
    meaning:
      'prefix of every Kafka topic, consumer group and Redis key, so several deployments can share one cluster',
    example: 'staging',
  },
  EMBER_KAFKA_RAW_PARTITIONS: {
    default: '6',
    meaning: 'partitions of profiles.raw.v1 when Emberflow creates it (bounds the decoders)',
    example: '12',
  },
  EMBER_KAFKA_NORMALIZED_PARTITIONS: {
    default: '6',
    meaning:
      'partitions of profiles.normalized.v1 when Emberflow creates it (bounds the exporters)',
    example: '12',
  },
  EMBER_KAFKA_REQUEST_TIMEOUT: {
    default: '30s',
    meaning: 'timeout of one Kafka request',
    example: '10s',
  },
  EMBER_KAFKA_FETCH_MAX_WAIT: {
    default: '200ms',
    meaning:
      "how long the broker may hold a consumer's fetch (fetch.max.wait.ms): bounds how late the decoder and exporter pick up new records; kafkajs's own 5 s default left records waiting for whole seconds",
    example: '500ms',
  },
  EMBER_REDIS_URL: {
    default: null,
    unset:
      'this process only: dedupe claims, delivered ids and the fleet view in EMBER_DATA_DIR/state.sqlite, rate limits and label caches in memory',
    meaning: 'Redis for state shared by every replica, `redis://` or `rediss://`',
    example: 'redis://redis:6379',
  },
  EMBER_CONFIG: {
    default: null,
    unset: 'every key of the file at its default',
    meaning:
      'YAML file: tenants, credentials, limits, global tags, relabel rules, backends (docs/configuration.md)',
    example: '/etc/emberflow/emberflow.yaml',
  },
  EMBER_LOG_LEVEL: {
    default: 'info',
    meaning: '`error`, `warn`, `info` or `debug`',
    example: 'debug',
  },
  EMBER_LOG_FORMAT: {
    default: 'text',
    meaning: '`text` (coloured lines) or `json` (one object a line)',
    example: 'json',
  },
  EMBER_MAX_BODY_BYTES: {
    default: '33554432',
    meaning: 'largest request body in bytes (32 MiB; 413 above); Kafka must allow it plus 64 KiB',
    example: '67108864',
  },
  EMBER_MEMORY_QUEUE_BYTES: {
    default: '134217728',
    meaning:
      'bytes the in-process queue may hold (128 MiB, decoded profiles it hands over included; raw uploads a quarter of it; embedded topology only); past it, uploads get 503',
    example: '1073741824',
  },
  EMBER_DEDUPE_WINDOW: {
    default: '10m',
    meaning: 'identical uploads within it are answered 200 and not published again',
    example: '1h',
  },
  EMBER_REQUIRE_TENANT: {
    default: 'false',
    meaning: 'refuse uploads and queries without `X-Scope-OrgID` (401)',
    example: 'true',
  },
  EMBER_SHUTDOWN_TIMEOUT: {
    default: '30s',
    meaning: 'how long SIGTERM may take to drain before the process exits anyway',
    example: '20s',
  },
  EMBER_DECODE_WORKERS: {
    default: null,
    unset: 'cores - 1, at least 1',
    meaning: 'decoder worker threads for large uploads; 0 decodes on the event loop',
    example: '2',
  },
  EMBER_DECODE_WORKER_THRESHOLD: {
    default: '65536',
    meaning:
      'uploads of at least this many bytes (64 KiB: every JFR) are decoded on a worker thread; smaller ones inline, one at a time',
    example: '1048576',
  },
  EMBER_DECODE_WORKER_MEMORY_MB: {
    default: '128',
    meaning:
      'old-generation heap of each decode worker thread, MiB (plus a 64 MiB young generation): bounds what decoding takes of the process; an upload whose decode needs more is dead-lettered with profile_size_limit (replay it after raising this). 128 decodes a 12 MB JFR recording and 1.5 MB uploads of 12,000 distinct stacks',
    example: '256',
  },
  EMBER_PYROSCOPE_URL: {
    default: null,
    unset: 'no Pyroscope backend from the environment (the file may still name some)',
    meaning:
      'ship to this Grafana Pyroscope as well (`user:password@` in the URL = Basic credentials)',
    example: 'http://pyroscope:4040',
  },
  EMBER_PYROSCOPE_BEARER_TOKEN: {
    default: null,
    unset: 'no token',
    meaning: 'Bearer token for EMBER_PYROSCOPE_URL (kept out of the URL and the file)',
    example: 'glc_eyJvIjoiMTIzIn0=',
  },
  EMBER_EMBEDDED_STORE: {
    default: null,
    unset: 'as the file says (`backends.embedded.enabled`, on by default)',
    meaning: '`false` turns the embedded store off (then an exporter may scale out)',
    example: 'false',
  },
  EMBER_CONSUMER_BATCH_BYTES: {
    default: '8388608',
    meaning:
      'value bytes a consumer hands a stage per call (8 MiB; one larger message still goes alone)',
    example: '16777216',
  },
  EMBER_CONSUMER_BUFFER_BYTES: {
    default: '67108864',
    meaning:
      'fetched, unprocessed bytes one consumer holds (64 MiB); past it, full partitions are paused',
    example: '134217728',
  },
  EMBER_STALL_TIMEOUT: {
    default: '2m',
    meaning:
      'a partition with lag and no commit this long is reported stalled (`/readyz` degraded, `emberflow_consumer_stalled`)',
    example: '5m',
  },
  EMBER_RETRY_BUDGET: {
    default: '1h',
    meaning:
      'a message still failing after this long (and EMBER_RETRY_MIN_ATTEMPTS attempts) is dead-lettered',
    example: '30m',
  },
  EMBER_RETRY_MIN_ATTEMPTS: {
    default: '5',
    meaning: 'attempts a failing message gets before the retry budget may dead-letter it',
    example: '10',
  },
  EMBER_MAX_SERIES_BYTES: {
    default: '4194304',
    meaning:
      'largest pprof of one normalised record (4 MiB, Pyroscope’s per-profile limit); larger series are split into parts',
    example: '8388608',
  },
  EMBER_DEAD_LETTER_BYTES: {
    default: '1073741824',
    meaning:
      'embedded topology only: bound of `deadletters.sqlite` (1 GiB), the oldest letters go first',
    example: '268435456',
  },
  EMBER_INGEST_INFLIGHT_BYTES: {
    default: null,
    unset:
      '1/16 of the memory available to the process (cgroup limit, else the machine), 32-512 MiB',
    meaning:
      'bytes of upload bodies held at once; past it uploads wait, body unread, then get 429/503 with Retry-After',
    example: '268435456',
  },
  EMBER_INGEST_MAX_CONCURRENT: {
    default: '128',
    meaning: 'uploads received or handled at once (a backstop next to the byte budget)',
    example: '64',
  },
  EMBER_INGEST_ADMISSION_WAIT: {
    default: '1s',
    meaning:
      'how long an upload may wait, its body unread, for room before it is shed (0: at once)',
    example: '500ms',
  },
  EMBER_INGEST_MAX_EVENT_LOOP_DELAY: {
    default: '1s',
    meaning: 'new uploads are shed (503) while the event loop lags more than this (0: never)',
    example: '500ms',
  },
  EMBER_INGEST_MAX_BACKLOG: {
    default: '2s',
    meaning:
      'profile uploads wait, then are shed (503 pipeline_behind), while the decoder and exporter are more than this many seconds of work behind ingest, as read from the consumer groups every 500 ms; a stage that drains nothing (stopped) does not count (0: never)',
    example: '5s',
  },
  EMBER_INGEST_BACKLOG_WAIT: {
    default: '5s',
    meaning:
      "how long a profile upload held only by EMBER_INGEST_MAX_BACKLOG may wait, its body unread, for the decoder to catch up before 503 (a burst is absorbed as it drains; keep it under the agents' 10 s timeout; at least EMBER_INGEST_ADMISSION_WAIT applies)",
    example: '3s',
  },
  EMBER_HTTP_HEADERS_TIMEOUT: {
    default: '10s',
    meaning: 'request line and headers must arrive within this (408, connection closed)',
    example: '5s',
  },
  EMBER_HTTP_REQUEST_TIMEOUT: {
    default: '120s',
    meaning: 'a whole request, headers and body, must arrive within this (408)',
    example: '60s',
  },
  EMBER_HTTP_BODY_MIN_RATE: {
    default: '16384',
    meaning:
      'bytes/s a body must average once its first 5 s are over (408, connection closed; 0: no check)',
    example: '65536',
  },
  EMBER_HTTP_HANDLER_TIMEOUT: {
    default: '10s',
    meaning: 'an upload must be answered this long after its body arrived (503 with Retry-After)',
    example: '5s',
  },
  EMBER_METRICS_MAX_TENANTS: {
    default: '10',
    meaning:
      'tenants not named in the config file that get their own self-metric label value; later ones count as `other`',
    example: '200',
  },
  EMBER_QUERY_WORKERS: {
    default: '1',
    meaning:
      'query worker threads of the process hosting the embedded store (0: queries on the event loop, no time budget)',
    example: '2',
  },
  EMBER_QUERY_TIMEOUT: {
    default: '30s',
    meaning:
      'time budget of a query, waiting included; past it, it is cancelled (503 deadline_exceeded)',
    example: '10s',
  },
  EMBER_QUERY_MAX_QUEUED: {
    default: '16',
    meaning: 'queries waiting for a worker; more get 503 at once',
    example: '64',
  },
  EMBER_QUERY_MEMORY_MB: {
    default: '256',
    meaning:
      'old-generation heap of a query worker in MiB; a query needing more gets 422 resource_exhausted. 256 merges twelve profiles of 12,000 distinct stacks (a million call-tree nodes) with room to spare',
    example: '1024',
  },
};

export interface FileSetting {
  meaning: string;
  /** a value the key's schema accepts (leaves only) */
  example?: unknown;
}

/**
 * Every key of the EMBER_CONFIG file, by its path as config-reference.ts walks the schema:
 * `a.b` a field, `a.<name>` any key of a map, `a[]` an item of a list. Sections are keys too.
 */
export const FILE_SETTINGS: Record<string, FileSetting> = {
  globalTags: {
    meaning:
      'labels added to every series at the lowest precedence: a label the agent sent wins. Datakit’s `[inputs.pyroscope.tags]`',
    example: { env: 'prod', region: 'eu-west-1' },
  },
  relabel: {
    meaning:
      'Prometheus-style relabel rules applied to every tenant’s series labels, before the tenant’s own',
    example: [{ action: 'labeldrop', regex: 'pod_template_hash' }],
  },
  'relabel[].action': {
    meaning:
      '`replace` (default), `keep`, `drop`, `labeldrop`, `labelkeep`, `hashmod` or `labelmap`',
    example: 'replace',
  },
  'relabel[].sourceLabels': {
    meaning: 'labels whose values, joined by `separator`, are matched against `regex`',
    example: ['namespace', 'pod'],
  },
  'relabel[].separator': {
    meaning: 'joins the source labels’ values (default `;`)',
    example: '/',
  },
  'relabel[].regex': {
    meaning: 'fully anchored regular expression (default `(.*)`)',
    example: 'checkout-(.*)',
  },
  'relabel[].targetLabel': {
    meaning: 'label written by `replace` and `hashmod` (required for them)',
    example: 'team',
  },
  'relabel[].replacement': {
    meaning: 'value written by `replace`, with `$1`-style groups (default `$1`)',
    example: 'payments-$1',
  },
  'relabel[].modulus': {
    meaning: 'modulus of `hashmod`',
    example: 8,
  },
  sampleRelabel: {
    meaning:
      'rules (as in `relabel`) applied to every sample’s labels (span_id, thread_name, ...), before the tenant’s own',
    example: [{ action: 'labeldrop', regex: 'thread_id' }],
  },
  labelCardinality: {
    meaning:
      'cardinality guard: past `maxValuesPerLabel` distinct values of a label, new values become `overflowValue`',
  },
  'labelCardinality.maxValuesPerLabel': {
    meaning: 'distinct values kept per label and tenant (0: no cap)',
    example: 50_000,
  },
  'labelCardinality.overflowValue': {
    meaning: 'the value that replaces a new value past the cap',
    example: 'other',
  },
  'labelCardinality.exempt': {
    meaning: 'labels never capped (service identity)',
    example: ['service_name', '__name__', 'pyroscope_spy', '__delta__', 'env'],
  },
  limits: {
    meaning: 'limits of every tenant; a tenant’s own `limits` override them',
  },
  'limits.ingestionRateBytes': {
    meaning:
      'request body bytes per second a tenant may send, shared by every ingest replica (429 above; 0: unlimited). A burst of large JFR uploads hits the 4 MiB/s default first',
    example: 33_554_432,
  },
  'limits.ingestionBurstBytes': {
    meaning: 'bucket size above the rate (at least the rate is allowed at once)',
    example: 67_108_864,
  },
  'limits.maxProfileBytes': {
    meaning: 'largest profile after decompression; larger ones are refused',
    example: 16_777_216,
  },
  'limits.rejectOlderThan': {
    meaning:
      'Pyroscope’s `validation.reject-older-than` for a tenant: a profile older than this is refused, 422 on /ingest and 400 on Push, `not_in_ingestion_window` (0: off, the default, so the embedded store takes backfill)',
    example: '1h',
  },
  'limits.rejectNewerThan': {
    meaning:
      'Pyroscope’s `validation.reject-newer-than`: a profile further ahead of the clock is refused the same way (0: off)',
    example: '10m',
  },
  tenancy: {
    meaning: 'who may send and query (open by default, as Pyroscope’s OSS server)',
  },
  'tenancy.closed': {
    meaning: 'refuse (401) every tenant not listed under `tenants`',
    example: true,
  },
  'tenancy.requireCredentials': {
    meaning:
      'every tenant must present one of its credentials (401 otherwise); a listed tenant without credentials fails the boot',
    example: true,
  },
  tenants: {
    meaning: 'per-tenant settings, by `X-Scope-OrgID` (`anonymous` when the header is absent)',
    example: { shop: { credentials: [{ bearer: 'a-long-random-token' }] } },
  },
  'tenants.<name>': {
    meaning: 'one tenant',
  },
  'tenants.<name>.credentials': {
    meaning:
      'if any, uploads and queries of this tenant must send one of them as `Authorization` (401 otherwise)',
    example: [{ bearer: 'a-long-random-token' }],
  },
  'tenants.<name>.credentials[].basic': {
    meaning:
      'HTTP Basic credentials (what the agents send for `basicAuthUser`/`basicAuthPassword`)',
    example: { username: 'shop', password: 'a-long-random-password' },
  },
  'tenants.<name>.credentials[].basic.username': {
    meaning: 'Basic user name',
    example: 'shop',
  },
  'tenants.<name>.credentials[].basic.password': {
    meaning: 'Basic password',
    example: 'a-long-random-password',
  },
  'tenants.<name>.credentials[].bearer': {
    meaning: 'a Bearer token (what the agents send for `authToken`)',
    example: 'a-long-random-token',
  },
  'tenants.<name>.limits': {
    meaning: 'this tenant’s limits; a key left out keeps the global value of `limits`',
  },
  'tenants.<name>.limits.ingestionRateBytes': {
    meaning: 'this tenant’s `limits.ingestionRateBytes`',
    example: 16_777_216,
  },
  'tenants.<name>.limits.ingestionBurstBytes': {
    meaning: 'this tenant’s `limits.ingestionBurstBytes`',
    example: 33_554_432,
  },
  'tenants.<name>.limits.maxProfileBytes': {
    meaning: 'this tenant’s `limits.maxProfileBytes`',
    example: 8_388_608,
  },
  'tenants.<name>.limits.rejectOlderThan': {
    meaning: 'this tenant’s ingestion window: `limits.rejectOlderThan`',
    example: '1h',
  },
  'tenants.<name>.limits.rejectNewerThan': {
    meaning: 'this tenant’s `limits.rejectNewerThan`',
    example: '10m',
  },
  'tenants.<name>.relabel': {
    meaning: 'rules (as in `relabel`) for this tenant’s series labels, after the global ones',
    example: [{ targetLabel: 'team', replacement: 'checkout' }],
  },
  'tenants.<name>.sampleRelabel': {
    meaning: 'rules (as in `relabel`) for this tenant’s sample labels, after the global ones',
    example: [{ action: 'labeldrop', regex: 'span_name' }],
  },
  backends: {
    meaning: 'where series are delivered: the embedded store and any number of Pyroscope servers',
  },
  'backends.pyroscope': {
    meaning:
      'Grafana Pyroscope endpoints (Push API); each keeps its own delivered-ids, so one failing never holds back another',
    example: [{ url: 'https://pyroscope.example.com' }],
  },
  'backends.pyroscope[].name': {
    meaning:
      'unique name (metrics, fleet view, delivered-ids keys; renaming resends what is still redeliverable). Default: `pyroscope-<host>`',
    example: 'central',
  },
  'backends.pyroscope[].url': {
    meaning: 'the server’s base URL (http or https)',
    example: 'https://pyroscope.example.com',
  },
  'backends.pyroscope[].tenants': {
    meaning:
      'Emberflow tenant → `X-Scope-OrgID` sent; `"*"` maps the rest; an unmapped tenant is sent as itself; `""` sends none',
    example: { anonymous: 'platform', '*': 'shared' },
  },
  'backends.pyroscope[].basicAuth': {
    meaning: 'Basic credentials for the server (not with `bearerToken`)',
    example: { username: '123456', password: 'glc_token' },
  },
  'backends.pyroscope[].basicAuth.username': {
    meaning: 'user name',
    example: '123456',
  },
  'backends.pyroscope[].basicAuth.password': {
    meaning: 'password',
    example: 'glc_token',
  },
  'backends.pyroscope[].bearerToken': {
    meaning: 'Bearer token for the server (not with `basicAuth`)',
    example: 'glc_token',
  },
  'backends.pyroscope[].headers': {
    meaning: 'extra request headers',
    example: { 'X-Team': 'platform' },
  },
  'backends.pyroscope[].compression': {
    meaning: '`gzip` or `none` for Push request bodies',
    example: 'none',
  },
  'backends.pyroscope[].timeout': {
    meaning: 'timeout of one Push attempt',
    example: '10s',
  },
  'backends.pyroscope[].retry': {
    meaning: 'exponential back-off of transient failures (5xx, 429, network)',
  },
  'backends.pyroscope[].retry.enabled': {
    meaning: 'retry transient failures at all',
    example: false,
  },
  'backends.pyroscope[].retry.initialInterval': {
    meaning: 'first wait',
    example: '1s',
  },
  'backends.pyroscope[].retry.maxInterval': {
    meaning: 'longest wait',
    example: '1m',
  },
  'backends.pyroscope[].retry.multiplier': {
    meaning: 'growth of the wait per attempt',
    example: 2,
  },
  'backends.pyroscope[].retry.randomizationFactor': {
    meaning: 'jitter, as a fraction of the wait',
    example: 0.2,
  },
  'backends.pyroscope[].retry.maxElapsed': {
    meaning: 'one chain of attempts; then the queue redelivers the batch',
    example: '10m',
  },
  'backends.pyroscope[].batch': {
    meaning: 'how series are grouped into Push requests',
  },
  'backends.pyroscope[].batch.maxSeries': {
    meaning: 'series per batch',
    example: 1000,
  },
  'backends.pyroscope[].batch.maxBytes': {
    meaning: 'bytes per batch',
    example: 8_388_608,
  },
  'backends.pyroscope[].batch.flushInterval': {
    meaning: 'longest a partial batch waits for more',
    example: '1s',
  },
  'backends.pyroscope[].batch.maxInFlightBytes': {
    meaning: 'bytes being sent at once (back-pressure on the queue)',
    example: 134_217_728,
  },
  'backends.pyroscope[].batch.maxRequestBytes': {
    meaning: 'one Push request’s size before gzip; larger batches are split',
    example: 8_388_608,
  },
  'backends.pyroscope[].rejectOlderThan': {
    meaning:
      'the server’s `validation.reject-older-than`: older series are dead-lettered instead of sent (0: off)',
    example: '2h',
  },
  'backends.otlp': {
    meaning:
      'OTLP/HTTP receivers (Tempo, Jaeger, an OpenTelemetry Collector, Datakit) that accepted spans, metrics and logs are forwarded to, each through its own sending chain (docs/traces.md). Metrics and logs are accepted only when one is configured for them',
    example: [{ name: 'tempo', url: 'http://tempo:4318', signals: ['traces'] }],
  },
  'backends.otlp[].name': {
    meaning:
      'unique name (default `otlp-<host>`), part of the delivered-ids keys and metric labels',
    example: 'tempo',
  },
  'backends.otlp[].url': {
    meaning: 'base URL; requests go to `<url>/v1/traces`, `/v1/metrics`, `/v1/logs`',
    example: 'http://tempo:4318',
  },
  'backends.otlp[].signals': {
    meaning: 'the signals this receiver takes (default all three)',
    example: ['traces', 'logs'],
  },
  'backends.otlp[].headers': {
    meaning:
      'extra headers on every request (credentials, the X-Scope-OrgID of a multi-tenant Tempo)',
    example: { 'X-Scope-OrgID': 'shop' },
  },
  'backends.otlp[].compression': {
    meaning: '`gzip` (default) or `none`',
    example: 'none',
  },
  'backends.otlp[].timeout': {
    meaning: 'timeout of one export attempt',
    example: '10s',
  },
  'backends.otlp[].retry': {
    meaning: 'exponential back-off of transient failures (429, 502, 503, 504, 408, network)',
  },
  'backends.otlp[].retry.enabled': {
    meaning: 'retry transient failures at all',
    example: false,
  },
  'backends.otlp[].retry.initialInterval': {
    meaning: 'first wait',
    example: '1s',
  },
  'backends.otlp[].retry.maxInterval': {
    meaning: 'longest wait',
    example: '1m',
  },
  'backends.otlp[].retry.multiplier': {
    meaning: 'growth of the wait per attempt',
    example: 2,
  },
  'backends.otlp[].retry.randomizationFactor': {
    meaning: 'jitter, as a fraction of the wait',
    example: 0.2,
  },
  'backends.otlp[].retry.maxElapsed': {
    meaning: 'one chain of attempts; then the queue redelivers the batch',
    example: '10m',
  },
  'backends.otlp[].batch': {
    meaning: 'how accepted requests are merged into exports',
  },
  'backends.otlp[].batch.maxRequests': {
    meaning: 'accepted requests merged into one export at most',
    example: 500,
  },
  'backends.otlp[].batch.maxBytes': {
    meaning: 'bytes of one export at most (before gzip)',
    example: 8_388_608,
  },
  'backends.otlp[].batch.flushInterval': {
    meaning: 'how long a partial export waits for more',
    example: '1s',
  },
  'backends.otlp[].batch.maxInFlightBytes': {
    meaning: 'bytes being sent to this receiver at once; beyond it consumption waits',
    example: 134_217_728,
  },
  'backends.embedded': {
    meaning:
      'the embedded store (SQLite under EMBER_DATA_DIR/store) that the web UI and query API read',
  },
  'backends.embedded.enabled': {
    meaning: 'keep series in the embedded store (EMBER_EMBEDDED_STORE overrides it)',
    example: false,
  },
  'backends.embedded.retention': {
    meaning: 'series older than this are dropped',
    example: '30d',
  },
  'backends.embedded.maxBytes': {
    meaning: 'the oldest series are dropped above this size',
    example: 53_687_091_200,
  },
};
