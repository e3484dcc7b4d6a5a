import 'reflect-metadata';
import { ConsoleLogger, type DynamicModule, Logger, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'node:net';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.port.js';
import { EmbeddedStore } from '../backends/embedded-store/embedded-store.js';
import { pyroscopeBackendFromConfig } from '../backends/pyroscope/from-config.js';
import { SpanStore } from '../backends/embedded-store/span-store.js';
import { otlpBackendsFromConfig } from '../backends/otlp/from-config.js';
import type { OtlpBackend } from '../backends/otlp/otlp-backend.js';
import { RedisStore, SqliteStore, type SharedStore } from '../cache/index.js';
import { Metrics, Readiness } from '../observability/index.js';
import {
  CoreModule,
  DecodeModule,
  ExportModule,
  HealthModule,
  IngestModule,
  OtlpExportModule,
  QueryModule,
  PyroscopeErrorFilter,
  WebUiModule,
} from '../pipeline/index.js';
import { GrpcEdge } from '../pipeline/grpc/grpc-edge.js';
import { GrpcRoutes } from '../pipeline/grpc/grpc-routes.js';
import { admissionFor, httpServerOptions, installHttpEdge } from '../pipeline/http/http-edge.js';
import { PipelineBacklog } from '../pipeline/http/pipeline-backlog.js';
import { TenantResolver } from '../pipeline/tenancy/tenant-resolver.js';
import {
  CONSUMER_GROUPS,
  KafkaBroker,
  MemoryBroker,
  QueueTransport,
  SqliteDeadLetterStore,
  TOPICS,
  describeStalls,
  topicSpecs,
  type QueueBroker,
} from '../queue/index.js';
import { parseCli } from './cli.js';
import { holdPort, listenError, StartupError } from './port-hold.js';
import { ConfigError, loadConfig, type EmberConfig } from './config.js';
import type { Target } from './targets.js';

// One bootstrap for every entry point (apps/*/main.ts): the targets decide which modules a
// process composes. Order matters and is the contract of a clean start:
//   1. config, validated (a bad config fails here, before any connection opens);
//   2. the ports (Kafka or in-process queue, Redis or in-memory store, backends), connected and
//      topics created;
//   3. Nest with the modules of the enabled targets; the queue transport subscribes consumers;
//   4. gRPC (EMBER_GRPC_PORT) binds when a module registered gRPC routes (ingest does);
//   5. HTTP listens last, so /readyz turns ready only when everything above is up.
// Shutdown runs the other way round, bounded by EMBER_SHUTDOWN_TIMEOUT.

export interface RunningEmberflow {
  config: EmberConfig;
  url: string;
  /** `127.0.0.1:<port>` of the gRPC edge; null when it is off or nothing registered a route */
  grpcAddress: string | null;
  close(): Promise<void>;
}

export interface BootstrapOptions {
  env?: Record<string, string | undefined>;
  /** overrides EMBER_TARGETS (the per-target entry points pass theirs) */
  targets?: Target[];
  /** install SIGTERM/SIGINT handlers (entry points do; tests don't) */
  handleSignals?: boolean;
  /** the HTTP port, bound by main() before anything else; closed right before Fastify listens */
  portHold?: Server | null;
}

export async function bootstrap(options: BootstrapOptions = {}): Promise<RunningEmberflow> {
  const env = { ...(options.env ?? process.env) };
  if (options.targets) env.EMBER_TARGETS = options.targets.join(',');
  const config = loadConfig(env);
  const logger = new ConsoleLogger('Emberflow', {
    json: config.log.format === 'json',
    logLevels: (['error', 'warn', 'log', 'debug'] as const).slice(
      0,
      { error: 1, warn: 2, info: 3, debug: 4 }[config.log.level],
    ),
  });
  Logger.overrideLogger(logger);
  const log = new Logger('Bootstrap');
  const portHold = options.portHold ?? null;
  const logFn = (scope: string) => (level: 'error' | 'warn' | 'info', message: string) => {
    const l = new Logger(scope);
    if (level === 'error') l.error(message);
    else if (level === 'warn') l.warn(message);
    else l.log(message);
  };

  const metrics = new Metrics();
  metrics.tenantLabels.configure(Object.keys(config.file.tenants), config.metrics.maxTenants);
  const readiness = new Readiness();
  const has = (t: Target): boolean => config.targets.includes(t);

  const onRetry = (group: string, topic: string): void =>
    metrics.consumerRetries.inc({ group, topic });
  const onDeadLetter = (_group: string, topic: string, reason: string): void =>
    metrics.deadLettered.inc({ topic, reason });
  let broker: QueueBroker;
  let deadLetters: SqliteDeadLetterStore | undefined;
  if (config.kafka) {
    broker = new KafkaBroker({
      brokers: config.kafka.brokers,
      clientId: `${config.kafka.clientId}-${config.targets.join('-')}`,
      namespace: config.kafka.namespace,
      requestTimeoutMs: config.kafka.requestTimeoutMs,
      fetchMaxWaitMs: config.kafka.fetchMaxWaitMs,
      maxBufferedBytes: config.consumer.bufferBytes,
      stallAfterMs: config.consumer.stallAfterMs,
      sessionTimeoutMs: 30_000,
      log: logFn('Kafka'),
      onRetry,
      onDeadLetter,
    });
  } else {
    log.warn(
      `EMBER_KAFKA_BROKERS is not set: using the in-process queue (bounded to ${config.memoryQueueBytes} bytes). It is NOT durable: an upload answered 200 but not yet decoded and stored is lost if the process is killed. Set EMBER_KAFKA_BROKERS for durability.`,
    );
    const dl = new SqliteDeadLetterStore({
      path: join(config.dataDir, 'deadletters.sqlite'),
      maxBytes: config.deadLetterBytes,
      onEvicted: (e) => metrics.discarded.inc({ reason: 'dead_letter_evicted', tenant: e.tenant }),
    });
    deadLetters = dl;
    const mem = new MemoryBroker({
      maxBytes: config.memoryQueueBytes,
      deadLetters: dl,
      stallAfterMs: config.consumer.stallAfterMs,
      log: logFn('Queue'),
      onRetry,
      onDeadLetter,
    });
    metrics.queueBytesSource = () => mem.bytesHeld;
    metrics.deadLetterSource = () => dl.stats();
    broker = mem;
  }
  metrics.consumerSource = () => broker.consumerStatus();

  let store: SharedStore;
  if (config.redis) {
    const redis = new RedisStore({
      url: config.redis.url,
      namespace: config.redis.namespace,
      commandTimeoutMs: 5_000,
      log: logFn('Redis'),
    });
    await redis.connect();
    store = redis;
  } else {
    log.warn(
      `EMBER_REDIS_URL is not set: dedupe claims, delivered ids and the fleet view are kept in ${join(config.dataDir, 'state.sqlite')} (this process only; rate limits and label caches in memory). Replicas do not share it: set EMBER_REDIS_URL when running more than one.`,
    );
    store = new SqliteStore({ path: join(config.dataDir, 'state.sqlite') });
  }

  // Backends (exporter only): the embedded store unless disabled, and one Pyroscope backend per
  // configured endpoint (dual shipping = several, each with its own delivered-ids).
  const backends: Backend[] = [];
  let embedded: EmbeddedStore | null = null;
  let spanStore: SpanStore | null = null;
  const otlpBackends: OtlpBackend[] = [];
  let retentionTimer: NodeJS.Timeout | undefined;
  if (has('exporter')) {
    const bc = config.backends;
    if (bc.embedded.enabled) {
      embedded = new EmbeddedStore({
        dataDir: join(config.dataDir, 'store'),
        retentionMs: bc.embedded.retention,
        maxBytes: bc.embedded.maxBytes,
        // the WAL's checkpoints off the event loop (wal-checkpointer.ts)
        checkpointIntervalMs: 500,
      });
      backends.push(embedded);
      // spans beside the profiles, with the same retention (ADR 0015)
      spanStore = new SpanStore({
        dataDir: join(config.dataDir, 'store'),
        retentionMs: bc.embedded.retention,
        maxBytes: bc.embedded.maxBytes,
      });
      const e = embedded;
      const sp = spanStore;
      e.enforceRetention();
      sp.enforceRetention();
      retentionTimer = setInterval(() => {
        e.enforceRetention();
        sp.enforceRetention();
      }, 60_000);
      retentionTimer.unref();
    }
    for (const ep of bc.otlp) otlpBackends.push(...otlpBackendsFromConfig(ep));
    for (const ep of bc.pyroscope) backends.push(pyroscopeBackendFromConfig(ep));
    if (backends.length === 0) {
      throw new ConfigError([
        'no backend: the embedded store is disabled and no Pyroscope endpoint is configured',
      ]);
    }
    log.log(`backends: ${backends.map((b) => b.name).join(', ')}`);
    if (otlpBackends.length > 0)
      log.log(`OTLP backends: ${otlpBackends.map((b) => `${b.name} (${b.signal})`).join(', ')}`);
  }

  await broker.start(
    topicSpecs({
      rawPartitions: config.kafka?.rawPartitions ?? 2,
      normalizedPartitions: config.kafka?.normalizedPartitions ?? 2,
      maxUploadBytes: config.ingest.maxBodyBytes,
    }),
  );
  readiness.register('queue', () => broker.health());
  readiness.register('store', () => store.health());

  const grpcRoutes = new GrpcRoutes();
  const modules: (Type | DynamicModule)[] = [
    CoreModule.forRoot({
      config,
      broker,
      store,
      backends,
      embedded,
      spanStore,
      otlpBackends,
      metrics,
      readiness,
      grpcRoutes,
    }),
    HealthModule,
  ];
  if (has('ingest')) modules.push(IngestModule);
  if (has('decoder')) modules.push(DecodeModule);
  if (has('exporter')) modules.push(ExportModule, OtlpExportModule, QueryModule, WebUiModule);

  @Module({ imports: modules })
  class AppModule {}

  const adapter = new FastifyAdapter({
    bodyLimit: config.ingest.maxBodyBytes,
    requestTimeout: config.http.requestTimeoutMs,
    http: httpServerOptions(config),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter, {
    logger,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Admission control, body limits and timeouts (libs/pipeline/http/http-edge.ts). In the
  // one-process topology the in-process queue is the downstream: no body is read that it could
  // not take.
  // Profile uploads wait while the decoder and exporter are behind, wherever they run: read from
  // the consumer groups, so an ingest-only process sees the others' progress.
  const backlog = has('ingest')
    ? new PipelineBacklog(
        broker,
        [
          {
            name: 'decoder',
            groupId: CONSUMER_GROUPS[TOPICS.raw],
            topic: TOPICS.raw,
            entry: true,
          },
          {
            name: 'exporter',
            groupId: CONSUMER_GROUPS[TOPICS.normalized],
            topic: TOPICS.normalized,
          },
        ],
        {
          onError: (stage, err) =>
            log.debug(`pipeline backlog of ${stage} not read: ${(err as Error).message}`),
        },
      )
    : null;
  backlog?.start();
  metrics.backlogSource = backlog ? () => backlog.snapshot() : undefined;
  const edge = admissionFor(config, {
    downstreamRoom:
      broker instanceof MemoryBroker && has('ingest')
        ? () => broker.roomFor(TOPICS.raw)
        : undefined,
    backlogSeconds: backlog ? () => backlog.seconds() : undefined,
    admittedProfile: backlog ? () => backlog.noteAdmitted() : undefined,
  });
  metrics.admissionSource = () => ({
    ...edge.admission.stats(),
    budgetBytes: has('ingest') ? config.ingest.inflightBytes : 0,
  });
  const tenants = new TenantResolver(config);
  installHttpEdge(fastify, {
    config,
    metrics,
    admission: edge.admission,
    tenants,
    draining: () => readiness.draining,
  });
  app.useGlobalFilters(
    new PyroscopeErrorFilter(config.ingest.maxBodyBytes, () =>
      metrics.discarded.inc({ reason: 'body_size_limit', tenant: 'unknown' }),
    ),
  );

  let transport: QueueTransport | undefined;
  if (has('decoder') || has('exporter')) {
    transport = new QueueTransport(broker, {
      maxBatchSize: 50,
      maxBatchBytes: config.consumer.batchBytes,
      retry: {
        budgetMs: config.consumer.retryBudgetMs,
        minAttempts: config.consumer.retryMinAttempts,
      },
    });
    app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
    const t = transport;
    readiness.register('consumers', async () => {
      if (!t.consumersJoined) return { ok: false, detail: 'consumers not joined yet' };
      const stalls = describeStalls(broker.consumerStatus());
      return stalls.length > 0
        ? { ok: true, degraded: true, detail: stalls.join('; ') }
        : { ok: true, detail: 'consumers joined, no partition stalled' };
    });
  }

  await app.init();
  await app.startAllMicroservices();
  // gRPC shares the HTTP edge's tenancy and admission (one in-flight budget for both).
  let grpc: GrpcEdge | null = null;
  if (config.grpc && grpcRoutes.size > 0) {
    grpc = new GrpcEdge(grpcRoutes, {
      config,
      metrics,
      admission: edge.admission,
      tenants,
      draining: () => readiness.draining,
    });
    try {
      await grpc.listen(config.grpc.host, config.grpc.port);
    } catch (err) {
      await app.close().catch(() => undefined);
      await broker.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      portHold?.close();
      throw new StartupError(
        `cannot listen for gRPC on ${config.grpc.host}:${config.grpc.port}: ${(err as Error).message}. Set EMBER_GRPC_PORT to a free port, or off to disable gRPC.`,
      );
    }
  }
  await new Promise<void>((resolve) => (portHold ? portHold.close(() => resolve()) : resolve()));
  try {
    await app.listen({ port: config.http.port, host: config.http.host });
  } catch (err) {
    await grpc?.close(0);
    await app.close().catch(() => undefined);
    await broker.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw listenError(err, config.http.host, config.http.port);
  }
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const url = `http://127.0.0.1:${port}`;
  const grpcAddress = grpc ? `127.0.0.1:${grpc.port}` : null;
  log.log(
    `Emberflow listening on ${config.http.host}:${port}${grpc ? `, gRPC on ${config.grpc?.host}:${grpc.port}` : ''}; targets ${config.targets.join(',')}; ${durabilityLine(config, broker, store, embedded)}`,
  );
  if (config.http.loopbackByDefault)
    log.warn(
      `listening on 127.0.0.1 only: embedded defaults with no credentials configured, so other machines cannot reach it. Set EMBER_HTTP_HOST=0.0.0.0 to accept agents from elsewhere (and configure tenant credentials).`,
    );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const timer = setTimeout(() => {
        log.error(`shutdown did not finish within ${config.shutdownTimeoutMs} ms; exiting`);
        process.exit(1);
      }, config.shutdownTimeoutMs);
      timer.unref();
      clearInterval(retentionTimer);
      // New uploads are refused from here on (503, agents retry); the in-process queue is not
      // durable, so what it holds is finished first, within the shutdown timeout.
      readiness.startDraining();
      if (broker instanceof MemoryBroker && broker.bytesHeld > 0) {
        const drained = await broker.drain(Math.max(1_000, config.shutdownTimeoutMs - 5_000));
        if (!drained)
          log.warn(
            `shutdown: ${broker.bytesHeld} bytes of accepted uploads were still queued and are lost (set EMBER_KAFKA_BROKERS for durability)`,
          );
      }
      edge.admission.close();
      edge.monitor.close();
      backlog?.close();
      // Requests still arriving (a body trickling in, bounded only by EMBER_HTTP_REQUEST_TIMEOUT)
      // must not hold the stop: after a grace, every connection left is closed.
      const cut = setTimeout(() => fastify.server.closeAllConnections(), 5_000);
      cut.unref();
      await grpc?.close(5_000);
      await app.close(); // HTTP stops, consumers leave (uncommitted work is redelivered)
      clearTimeout(cut);
      await broker.close();
      deadLetters?.close();
      await store.close();
      await Promise.allSettled(backends.map((b) => b.close()));
      await spanStore?.close();
      clearTimeout(timer);
      log.log('stopped');
    })();
    return closing;
  };

  if (options.handleSignals) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        log.log(`${sig} received, shutting down`);
        close().then(
          () => process.exit(0),
          (err) => {
            log.error(`shutdown failed: ${(err as Error).stack}`);
            process.exit(1);
          },
        );
      });
    }
  }
  return { config, url, grpcAddress, close };
}

/**
 * What this process keeps where, and what a restart keeps: said at boot so an operator never
 * has to guess (README "What survives a restart" says the same).
 */
export function durabilityLine(
  config: EmberConfig,
  broker: QueueBroker,
  store: SharedStore,
  embedded: EmbeddedStore | null,
): string {
  const parts: string[] = [];
  parts.push(
    broker.kind === 'kafka'
      ? `queue kafka (${config.kafka?.brokers.join(',')}): accepted uploads are durable`
      : `queue in-process (NOT durable: uploads accepted but not yet decoded and stored are lost if the process is killed; dead letters persist in ${join(config.dataDir, 'deadletters.sqlite')})`,
  );
  parts.push(
    store.kind === 'redis'
      ? 'shared state redis'
      : `shared state ${join(config.dataDir, 'state.sqlite')} (dedupe claims and fleet view persist)`,
  );
  if (embedded) parts.push(`profiles persist in ${join(config.dataDir, 'store')}`);
  return parts.join('; ');
}

/** The entry points' main: bootstrap, or print why not and exit non-zero. */
export async function main(targets?: Target[], args = process.argv.slice(2)): Promise<void> {
  const cli = parseCli(args);
  if (cli.kind === 'print') {
    process.stdout.write(cli.text);
    return;
  }
  if (cli.kind === 'fail') {
    process.stderr.write(cli.text);
    process.exit(2);
  }
  try {
    // The port is taken before anything is connected or logged, so a port in use is one line
    // (StartupError), not a half-started process.
    const env = { ...process.env, ...(targets ? { EMBER_TARGETS: targets.join(',') } : {}) };
    const { http } = loadConfig(env);
    const portHold = await holdPort(http.host, http.port);
    await bootstrap({ targets, handleSignals: true, portHold });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`Emberflow failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  }
}
