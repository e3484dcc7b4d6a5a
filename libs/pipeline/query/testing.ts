import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore, SpanStore } from '../../backends/index.js';
import { MemoryStore, type SharedStore } from '../../cache/index.js';
import { ProfileBuilder, encodePprof } from '../../model/index.js';
import { Metrics, Readiness } from '../../observability/index.js';
import { MemoryBroker, type NormalizedSeries } from '../../queue/index.js';
import { listenOnFreePort } from '../../../test/support/ports.js';
import { loadConfig, type EmberConfig } from '../../runtime/config.js';
import { CoreModule } from '../core/core.module.js';
import { QueryModule } from './query.module.js';

// The read side as a running Nest app on Fastify (raw bodies, as bootstrap sets it up), over a
// fresh embedded store in a temp dir, for query and fleet specs.

export const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

export interface ReadApp {
  url: string;
  store: EmbeddedStore;
  /** the span store, when started with `{ spans: true }` */
  spans: SpanStore | null;
  shared: SharedStore;
  close(): Promise<void>;
}

export async function startReadApp(
  tenants: EmberConfig['file']['tenants'] = {},
  opts: { spans?: boolean } = {},
): Promise<ReadApp> {
  const dir = mkdtempSync(join(tmpdir(), 'ember-query-'));
  const base = loadConfig({ EMBER_DATA_DIR: dir });
  const config: EmberConfig = { ...base, file: { ...base.file, tenants } };
  const store = new EmbeddedStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 });
  const spans = opts.spans
    ? new SpanStore({ dataDir: dir, retentionMs: 86_400_000, maxBytes: 1 << 30 })
    : null;
  const shared = new MemoryStore();
  @Module({
    imports: [
      CoreModule.forRoot({
        config,
        broker: new MemoryBroker({ maxBytes: 1 << 20 }),
        store: shared,
        backends: [store],
        embedded: store,
        spanStore: spans,
        metrics: new Metrics(),
        readiness: new Readiness(),
      }),
      QueryModule,
    ],
  })
  class App {}
  const app = await NestFactory.create<NestFastifyApplication>(App, new FastifyAdapter(), {
    logger: false,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const port = await listenOnFreePort(async (p) => {
    await app.listen({ port: p, host: '127.0.0.1' });
    return p;
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    store,
    spans,
    shared,
    close: async () => {
      await app.close();
      await store.close();
      await spans?.close();
    },
  };
}

let n = 0;

/** A CPU series of folded-like stacks, each optionally with a span_id sample label. */
export function cpuSeries(opts: {
  tenant?: string;
  labels: Record<string, string>;
  stacks: [string[], number, string?][];
  atMs: number;
}): NormalizedSeries {
  const b = new ProfileBuilder()
    .sampleType('cpu', 'nanoseconds')
    .period('cpu', 'nanoseconds', 10_000_000);
  b.time(BigInt(opts.atMs) * 1_000_000n, 10_000_000_000);
  for (const [frames, v, span] of opts.stacks)
    b.stack(frames, [v], span ? [['span_id', span]] : undefined);
  const labels = Object.entries({ __name__: 'process_cpu', ...opts.labels })
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const id = `u${++n}`;
  return {
    seriesId: `${id}:0`,
    uploadId: id,
    tenant: opts.tenant ?? 'anonymous',
    labels,
    profileTypeIds: [CPU],
    startMs: opts.atMs,
    endMs: opts.atMs + 10_000,
    pprof: Buffer.from(encodePprof(b.build())),
  };
}

export async function post(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${url}/querier.v1.QuerierService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}
