import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOnFreePort } from '../../../test/support/ports.js';
import { bootstrap, type RunningEmberflow } from '../../runtime/bootstrap.js';

// A whole one-process Emberflow on its embedded defaults (in-process queue, embedded store),
// for the specs that pin Grafana Pyroscope's answers: uploads go in over HTTP as agents send
// them and answers come back from the query API, so a spec compares what Grafana would see.

export interface ConformanceApp {
  base: string;
  /** POST an upload; the answer's status and text */
  upload(
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<{ status: number; text: string }>;
  /** a querier.v1 method in JSON */
  query(
    method: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  /** polls `Series` until the selector matches a series (the decoder is asynchronous) */
  waitForSeries(selector: string, tenant?: string): Promise<Record<string, string>[]>;
  close(): Promise<void>;
}

export async function startConformanceApp(configYaml = ''): Promise<ConformanceApp> {
  const dir = mkdtempSync(join(tmpdir(), 'ember-conformance-'));
  writeFileSync(join(dir, 'config.yaml'), configYaml);
  const { app, base } = await listenOnFreePort(async (port) => {
    const a: RunningEmberflow = await bootstrap({
      env: {
        EMBER_HTTP_PORT: String(port),
        EMBER_HTTP_HOST: '127.0.0.1',
        EMBER_DATA_DIR: dir,
        EMBER_CONFIG: join(dir, 'config.yaml'),
        EMBER_LOG_LEVEL: process.env.EMBER_CONFORMANCE_LOG ?? 'error',
        EMBER_DECODE_WORKERS: '0',
        EMBER_INGEST_MAX_EVENT_LOOP_DELAY: '0',
        // queries run in this thread: specs read answers, not the worker pool
        EMBER_QUERY_WORKERS: '0',
      },
    });
    return { app: a, base: `http://127.0.0.1:${port}` };
  });
  const query: ConformanceApp['query'] = async (method, body, headers = {}) => {
    const r = await fetch(`${base}/querier.v1.QuerierService/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  return {
    base,
    async upload(path, q, headers, body) {
      const r = await fetch(`${base}${path}?${new URLSearchParams(q).toString()}`, {
        method: 'POST',
        headers,
        body,
      });
      return { status: r.status, text: await r.text() };
    },
    query,
    async waitForSeries(selector, tenant) {
      const headers: Record<string, string> = tenant ? { 'x-scope-orgid': tenant } : {};
      for (let i = 0; i < 400; i++) {
        const r = await query(
          'Series',
          { matchers: [selector], start: '1', end: '9999999999999' },
          headers,
        );
        const sets = (r.json.labelsSet ?? []) as { labels: { name: string; value: string }[] }[];
        if (sets.length > 0)
          return sets.map((s) => Object.fromEntries(s.labels.map((l) => [l.name, l.value])));
        await new Promise((res) => setTimeout(res, 25));
      }
      throw new Error(`no series matched ${selector} within 10 s`);
    },
    close: () => app.close(),
  };
}
