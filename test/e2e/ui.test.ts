import assert from 'node:assert/strict';
import { traceRequestJson } from '../../libs/protocol/otlp/testing.js';
import { randomUUID } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Profile as PprofProfile, StringTable } from 'pprof-format';
import { goPprofForm, rawUpload, send, type AgentRequest } from '../support/agent-requests.js';
import { startEmberflow, tempDataDir, type EmberProcess } from '../support/emberflow-process.js';
import { selectMergeStacktraces, waitFor } from '../support/query-client.js';
import { repoRoot } from '../support/paths.js';
import { testServices } from '../support/services.js';

// The web UI in a real browser (Debian's Chromium, driven by playwright-core) against a real
// Emberflow on the real Kafka broker and Redis, fed through the real ingest path. Assertions are
// about what is drawn: the SVG frames' names, widths, fills and highlight marks, the table's
// rows, the tooltip's text. Screenshots go to artifacts/screenshots/ (git-ignored);
// EMBER_UI_DOCS_IMG=1 also refreshes docs/img/flamegraph.png.

const CHROMIUM = process.env.EMBER_CHROMIUM ?? '/usr/bin/chromium';
const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const CPU_SAMPLES = 'process_cpu:samples:count:cpu:nanoseconds';
const WALL = 'wall:wall:microseconds:wall:microseconds';
const MIN = 60_000;
const SHOTS = join(repoRoot(), 'artifacts', 'screenshots');

const SERVE = 'main.main;net/http.(*conn).serve';
function stacks(jsonMarshal: number, sortSlice: number): string {
  return [
    `${SERVE};main.handleCheckout;main.priceCart;main.applyDiscounts 20`,
    `${SERVE};main.handleCheckout;main.priceCart;encoding/json.Marshal ${jsonMarshal}`,
    `${SERVE};main.handleCheckout;database/sql.(*DB).Query 25`,
    `${SERVE};main.handleSearch;main.rankResults;sort.Slice ${sortSlice}`,
    `${SERVE};main.handleSearch;strings.ToLower 8`,
    'main.main;runtime.gcBgMarkWorker;runtime.gcDrain 12',
    'runtime.mcall;runtime.schedule 5',
    '',
  ].join('\n');
}

/** A folded upload whose time range ends at `atMs` (agents upload 10 s windows). */
function foldedAt(name: string, body: string, atMs: number): AgentRequest {
  const r = rawUpload(name, undefined, Buffer.from(body));
  const until = Math.floor(atMs / 1000);
  return { ...r, query: { ...r.query, from: String(until - 10), until: String(until) } };
}

/** A Go CPU pprof whose samples carry span ids (pprof label span_id), as the otel-profiling wrappers record. */
function cpuPprofWithSpans(samples: { stack: string[]; count: number; spanId?: string }[]): Buffer {
  const strings = new StringTable();
  const fnIds = new Map<string, number>();
  const functions: { id: number; name: number; systemName: number; filename: number }[] = [];
  const locations: { id: number; line: { functionId: number; line: number }[] }[] = [];
  const locOf = (name: string): number => {
    let id = fnIds.get(name);
    if (id === undefined) {
      id = functions.length + 1;
      fnIds.set(name, id);
      const s = strings.dedup(name);
      functions.push({ id, name: s, systemName: s, filename: strings.dedup('main.go') });
      locations.push({ id, line: [{ functionId: id, line: 1 }] });
    }
    return id;
  };
  const cpu = strings.dedup('cpu');
  const ns = strings.dedup('nanoseconds');
  const sampleType = [
    { type: strings.dedup('samples'), unit: strings.dedup('count') },
    { type: cpu, unit: ns },
  ];
  const spanKey = strings.dedup('span_id');
  const sample = samples.map((s) => ({
    locationId: [...s.stack].reverse().map(locOf),
    value: [s.count, s.count * 10_000_000],
    label: s.spanId ? [{ key: spanKey, str: strings.dedup(s.spanId) }] : [],
  }));
  const p = new PprofProfile({
    sampleType,
    sample,
    location: locations,
    function: functions,
    stringTable: strings,
    periodType: { type: cpu, unit: ns },
    period: 10_000_000,
    timeNanos: BigInt(Date.now()) * 1_000_000n,
    durationNanos: 10_000_000_000n,
  });
  return Buffer.from(p.encode());
}

/** A Node.js wall profile as @pyroscope/nodejs sends it: samples (count) and wall (µs). */
function nodeWallPprof(samples: { stack: string[]; count: number }[]): Buffer {
  const strings = new StringTable();
  const ids = new Map<string, number>();
  const functions: { id: number; name: number; systemName: number; filename: number }[] = [];
  const locations: { id: number; line: { functionId: number; line: number }[] }[] = [];
  const locOf = (name: string): number => {
    let id = ids.get(name);
    if (id === undefined) {
      id = functions.length + 1;
      ids.set(name, id);
      const n = strings.dedup(name);
      functions.push({ id, name: n, systemName: n, filename: strings.dedup('app.js') });
      locations.push({ id, line: [{ functionId: id, line: 1 }] });
    }
    return id;
  };
  const wall = strings.dedup('wall');
  const us = strings.dedup('microseconds');
  const p = new PprofProfile({
    sampleType: [
      { type: strings.dedup('samples'), unit: strings.dedup('count') },
      { type: wall, unit: us },
    ],
    sample: samples.map((x) => ({
      locationId: [...x.stack].reverse().map(locOf),
      value: [x.count, x.count * 10_000],
      label: [],
    })),
    location: locations,
    function: functions,
    stringTable: strings,
    periodType: { type: wall, unit: us },
    period: 10_000,
    timeNanos: BigInt(Date.now()) * 1_000_000n,
    durationNanos: 10_000_000_000n,
  });
  return Buffer.from(p.encode());
}

async function post(
  url: string,
  tenant: string,
  r: AgentRequest,
  headers: Record<string, string> = {},
): Promise<void> {
  const res = await send(url, r, { 'x-scope-orgid': tenant, ...headers });
  assert.equal(res.status, 200, `${r.way}: ${await res.text()}`);
}

describe('web UI in Chromium (real Kafka and Redis)', () => {
  const svc = testServices();
  const id = randomUUID().slice(0, 8);
  const tenant = `ui-${id}`;
  const service = `shop-${id}`;
  const spanService = `spans-${id}`;
  const now = Date.now();
  // baseline: five uploads 50..34 minutes ago; comparison: five uploads 22..6 minutes ago with
  // encoding/json.Marshal six times as hot and sort.Slice halved; two env=dev uploads beside them
  const baselineAt = [50, 46, 42, 38, 34].map((m) => now - m * MIN);
  const comparisonAt = [22, 18, 14, 10, 6].map((m) => now - m * MIN);
  const devAt = [20, 12].map((m) => now - m * MIN);
  const nodeService = `node-${id}`;
  const otherTenant = `other-${id}`;
  const otherService = `billing-${id}`;
  const secureTenant = `secure-${id}`;
  const secureService = `vault-${id}`;
  const securePassword = `pw-${randomUUID()}`;
  const secureToken = `tok-${randomUUID()}`;
  const basic = `Basic ${Buffer.from(`ui:${securePassword}`).toString('base64')}`;
  const backfillTenant = `backfill-${id}`;
  const backfillService = `old-${id}`;
  const backfillAt = now - 3 * 24 * 60 * MIN;
  const spanA = 'a1b2c3d4e5f60718';
  const spanB = '0f1e2d3c4b5a6978';
  // a span of the trace no profile sample carries
  const spanC = '5a5a5a5a5a5a5a5a';
  const runtimeId = `rt-${id}`;
  // when the span profile is uploaded (set in before): the trace's spans lie just before it
  let spansAt = 0;
  const traceId = `${id}${'0'.repeat(24)}`;
  let app: EmberProcess;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const pageErrors: string[] = [];

  const open = async (query: Record<string, string>): Promise<void> => {
    const qs = new URLSearchParams({ tenant, service, type: CPU, ...query }).toString();
    await page.goto(`${app.url}/?${qs}`);
  };
  const frameNames = async (): Promise<string[]> =>
    page
      .locator('svg[aria-label="flame graph"] g.frame')
      .evaluateAll((gs) => gs.map((g) => g.getAttribute('data-name') ?? ''));
  const frame = (name: string) =>
    page.locator(`svg[aria-label="flame graph"] g.frame[data-name="${name}"]`);
  const shot = async (name: string): Promise<string> => {
    const path = join(SHOTS, `${name}.png`);
    await page.screenshot({ path });
    return path;
  };

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: run scripts/install-chromium.sh (apt packages chromium, chromium-driver)`,
    );
    mkdirSync(SHOTS, { recursive: true });
    const dataDir = tempDataDir();
    const configFile = join(dataDir, 'emberflow.yaml');
    writeFileSync(
      configFile,
      [
        'tenants:',
        `  ${secureTenant}:`,
        '    credentials:',
        `      - basic: { username: ui, password: ${securePassword} }`,
        `      - bearer: ${secureToken}`,
        '',
      ].join('\n'),
    );
    app = await startEmberflow({
      targets: 'all',
      env: {
        EMBER_KAFKA_BROKERS: svc.kafkaBrokers,
        EMBER_REDIS_URL: svc.redisUrl,
        EMBER_DATA_DIR: dataDir,
        EMBER_CONFIG: configFile,
      },
    });
    for (const at of baselineAt)
      await post(app.url, tenant, foldedAt(`${service}.cpu{env=prod}`, stacks(10, 30), at));
    for (const at of comparisonAt)
      await post(app.url, tenant, foldedAt(`${service}.cpu{env=prod}`, stacks(60, 15), at));
    for (const at of devAt)
      await post(
        app.url,
        tenant,
        foldedAt(`${service}.cpu{env=dev}`, 'main.main;main.devOnlyDebugHandler 40\n', at),
      );
    spansAt = Date.now();
    await post(
      app.url,
      tenant,
      goPprofForm(
        `${spanService}{runtime_id=${runtimeId}}`,
        cpuPprofWithSpans([
          {
            stack: ['main.main', 'main.serveOrder', 'main.reserveStock'],
            count: 50,
            spanId: spanA,
          },
          { stack: ['main.main', 'main.serveOrder', 'main.chargeCard'], count: 20, spanId: spanB },
          { stack: ['main.main', 'main.backgroundSync'], count: 30 },
        ]),
      ),
    );
    // the trace those two spans belong to, exported as an OTel SDK would (OTLP/JSON)
    const tr = await fetch(`${app.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
      // a few seconds before the profile's upload, as a span is within the profile that holds
      // its samples; the service instance named by runtime_id, as Datakit advises
      body: traceRequestJson(
        spanService,
        [
          {
            traceId,
            spanId: spanA,
            name: 'POST /order',
            startMs: spansAt - 5_000,
            durationMs: 700,
          },
          {
            traceId,
            spanId: spanB,
            parentSpanId: spanA,
            name: 'charge card',
            startMs: spansAt - 5_000 + 300,
            durationMs: 200,
            kind: 3,
          },
          {
            traceId,
            spanId: spanC,
            parentSpanId: spanA,
            name: 'render receipt',
            startMs: spansAt - 5_000 + 550,
            durationMs: 100,
          },
        ],
        { runtime_id: runtimeId },
      ),
    });
    assert.equal(tr.status, 200, await tr.clone().text());
    const nodeWall = goPprofForm(
      nodeService,
      nodeWallPprof([
        { stack: ['(program)', 'processTicksAndRejections', 'handleRequest'], count: 40 },
        { stack: ['(program)', '(idle)'], count: 60 },
      ]),
    );
    await post(app.url, tenant, { ...nodeWall, query: { ...nodeWall.query, spyName: 'nodespy' } });
    await post(
      app.url,
      otherTenant,
      foldedAt(`${otherService}.cpu`, 'main.main;main.invoice 30\n', now - 5 * MIN),
    );
    await post(
      app.url,
      secureTenant,
      foldedAt(
        `${secureService}.cpu`,
        'main.main;main.seal 20\nmain.main;main.open 5\n',
        now - 5 * MIN,
      ),
      { authorization: basic },
    );
    await post(
      app.url,
      backfillTenant,
      foldedAt(`${backfillService}.cpu`, 'main.main;main.replayed 12\n', backfillAt),
    );
    // everything is queryable before the browser looks (on failure, show what the process said)
    const expected = (5 * 110 + 5 * 145 + 2 * 40) * 10_000_000;
    try {
      await waitFor('all uploads in the store', 60_000, async () => {
        const a = await selectMergeStacktraces(
          app.url,
          {
            profileTypeID: CPU,
            labelSelector: `{service_name="${service}"}`,
            start: now - 60 * MIN,
            end: now + MIN,
          },
          { 'x-scope-orgid': tenant },
        );
        return a.flamegraph.total === String(expected) ? a : undefined;
      });
      await waitFor('the span service in the store', 60_000, async () => {
        const a = await selectMergeStacktraces(
          app.url,
          {
            profileTypeID: CPU,
            labelSelector: `{service_name="${spanService}"}`,
            start: now - 60 * MIN,
            end: now + MIN,
          },
          { 'x-scope-orgid': tenant },
        );
        return a.flamegraph.total !== '0' ? a : undefined;
      });
      const stored = (t: string, svc: string, type: string, from: number, h = {}) =>
        waitFor(`${svc} in the store`, 60_000, async () => {
          const a = await selectMergeStacktraces(
            app.url,
            {
              profileTypeID: type,
              labelSelector: `{service_name="${svc}"}`,
              start: from,
              end: now + MIN,
            },
            { 'x-scope-orgid': t, ...h },
          );
          return a.flamegraph.total !== '0' ? a : undefined;
        });
      await stored(tenant, nodeService, WALL, now - 60 * MIN);
      await stored(otherTenant, otherService, CPU, now - 60 * MIN);
      await stored(secureTenant, secureService, CPU, now - 60 * MIN, { authorization: basic });
      await stored(backfillTenant, backfillService, CPU, backfillAt - 60 * MIN);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n--- emberflow output (tail) ---\n${app.output().slice(-4000)}`,
      );
    }

    profileDir = mkdtempSync(join(tmpdir(), 'ember-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
      viewport: { width: 1400, height: 900 },
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => pageErrors.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console error: ${m.text()}`);
    });
  });

  after(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await app?.stop();
  });

  it('serves the UI at / with its assets, from this process', async () => {
    const r = await fetch(`${app.url}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    const html = await r.text();
    const js = /src="\.?\/?(assets\/[^"]+\.js)"/.exec(html);
    assert.ok(js, html);
    const asset = await fetch(`${app.url}/${js[1]}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal((await fetch(`${app.url}/assets/..%2F..%2Fpackage.json`)).status, 404);
  });

  it('picks the tenant, its service and profile type, and draws the flame graph', async () => {
    await page.goto(`${app.url}/?from=now-1h&until=now`);
    await page.fill('#tenant', tenant);
    await page.press('#tenant', 'Enter');
    await page.locator('#service').locator(`option[value="${service}"]`).waitFor({
      state: 'attached',
    });
    await page.selectOption('#service', service);
    await page.selectOption('#profile-type', CPU);
    await frame('encoding/json.Marshal').waitFor();
    const names = await frameNames();
    for (const fn of [
      'total',
      'main.main',
      'net/http.(*conn).serve',
      'main.handleCheckout',
      'main.priceCart',
      'encoding/json.Marshal',
      'database/sql.(*DB).Query',
      'sort.Slice',
      'runtime.schedule',
      'main.devOnlyDebugHandler',
    ])
      assert.ok(names.includes(fn), `${fn} not drawn; drawn: ${names.join(', ')}`);
    // labels are drawn where the frame is wide enough
    assert.equal(
      await frame('main.handleCheckout').locator('text').textContent(),
      'main.handleCheckout',
    );
    // the timeline has the total over time
    // one bar per upload (each in its own step)
    assert.equal(await page.locator('[data-testid="timeline"] g.bars rect').count(), 12);

    await frame('encoding/json.Marshal').hover();
    const tip = await page.locator('[role="tooltip"]').innerText();
    // 5 × 10 + 5 × 60 samples of 10 ms: 3.5 s of 13.55 s in total
    assert.match(tip, /encoding\/json\.Marshal/);
    assert.match(tip, /self\s+3\.5 s \(25\.8%\)/);
    assert.match(tip, /total\s+3\.5 s \(25\.8%\)/);

    const path = await shot('flamegraph'); // with the tooltip
    if (process.env.EMBER_UI_DOCS_IMG === '1') {
      mkdirSync(join(repoRoot(), 'docs', 'img'), { recursive: true });
      copyFileSync(path, join(repoRoot(), 'docs', 'img', 'flamegraph.png'));
    }
    await page.mouse.move(0, 0);
  });

  it('zooms into a clicked frame and back with Reset', async () => {
    await open({ from: 'now-1h', until: 'now' });
    await frame('main.handleCheckout').waitFor();
    const svgWidth = await page
      .locator('svg[aria-label="flame graph"]')
      .evaluate((s) => s.getBoundingClientRect().width);
    await frame('main.handleCheckout').locator('rect').click();
    await page.locator('nav.breadcrumbs[data-root="main.handleCheckout"]').waitFor();
    const width = await frame('main.handleCheckout')
      .locator('rect')
      .evaluate((r) => r.getBoundingClientRect().width);
    assert.ok(width > svgWidth - 2, `zoomed root is ${width}px of ${svgWidth}px`);
    const zoomed = await frameNames();
    assert.ok(!zoomed.includes('main.handleSearch'), 'a sibling of the zoomed frame is drawn');
    assert.ok(!zoomed.includes('runtime.schedule'));
    assert.ok(zoomed.includes('encoding/json.Marshal'));
    await shot('flamegraph-zoomed');

    await page.getByRole('button', { name: 'Reset zoom' }).click();
    await page.locator('nav.breadcrumbs[data-root="total"]').waitFor();
    assert.ok((await frameNames()).includes('main.handleSearch'));
  });

  it('search highlights the matching frames and table rows, and dims the rest', async () => {
    await open({ from: 'now-1h', until: 'now' });
    await frame('main.handleCheckout').waitFor();
    await page.fill('input[aria-label="search frames"]', 'main.handle');
    await page
      .locator('[data-testid="search-matches"]', { hasText: '2 matching frames' })
      .waitFor();
    const lit = await page
      .locator('g.frame[data-highlighted="true"]')
      .evaluateAll((gs) => gs.map((g) => g.getAttribute('data-name')));
    assert.deepEqual(lit.sort(), ['main.handleCheckout', 'main.handleSearch']);
    assert.equal(
      await frame('sort.Slice').locator('rect').getAttribute('fill'),
      'hsl(220 10% 86%)',
    );
    assert.notEqual(
      await frame('main.handleSearch').locator('rect').getAttribute('fill'),
      'hsl(220 10% 86%)',
    );
    const rows = await page
      .locator('[data-testid="top-table"] tbody tr.match td.name')
      .allTextContents();
    assert.deepEqual(rows.sort(), ['main.handleCheckout', 'main.handleSearch']);
    await shot('flamegraph-search');
  });

  it('sorts the top-functions table by self, total and name', async () => {
    await open({ from: 'now-1h', until: 'now' });
    const table = page.locator('[data-testid="top-table"]');
    await table.locator('td.name', { hasText: 'encoding/json.Marshal' }).waitFor();
    const names = () => table.locator('tbody td.name').allTextContents();
    // default: self, largest first (json.Marshal: 350 samples)
    assert.equal((await names())[0], 'encoding/json.Marshal');
    await table.getByRole('button', { name: /^Total/ }).click();
    assert.equal((await names())[0], 'main.main');
    await table.getByRole('button', { name: /^Function/ }).click();
    const byName = await names();
    assert.deepEqual(
      byName,
      [...byName].sort((a, b) => a.localeCompare(b)),
    );
    await table.getByRole('button', { name: /^Self/ }).click();
    await table.getByRole('button', { name: /^Self/ }).click(); // second click: ascending
    const asc = await names();
    assert.equal(await table.locator('th[aria-sort="ascending"]').count(), 1);
    // self 0, ties by name
    assert.equal(asc[0], 'main.handleCheckout');
  });

  it('builds label filters from LabelNames and LabelValues', async () => {
    await open({ from: 'now-1h', until: 'now' });
    await frame('main.devOnlyDebugHandler').waitFor();
    await page.locator('select[aria-label="label name"] option[value="env"]').waitFor({
      state: 'attached',
    });
    // LabelNames now answers Pyroscope's stored sets (__type__, __unit__, __period_type__,
    // __service_name__, ...): the filter offers none of the reserved names
    const offered = await page
      .locator('select[aria-label="label name"] option')
      .evaluateAll((os) => os.map((o) => o.getAttribute('value') ?? ''));
    assert.ok(offered.includes('env'), JSON.stringify(offered));
    assert.deepEqual(
      offered.filter((n) => /^__.*__$/.test(n) || n === 'service_name'),
      [],
      JSON.stringify(offered),
    );
    await page.selectOption('select[aria-label="label name"]', 'env');
    const values = page.locator('select[aria-label="label value"] option');
    await values.nth(2).waitFor({ state: 'attached' });
    assert.deepEqual(await values.allTextContents(), ['(empty)', 'dev', 'prod']);
    await page.selectOption('select[aria-label="label value"]', 'prod');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    assert.equal(
      await page.locator('[data-testid="selector"]').textContent(),
      `{service_name="${service}",env="prod"}`,
    );
    await frame('main.devOnlyDebugHandler').waitFor({ state: 'detached' });
    assert.ok((await frameNames()).includes('encoding/json.Marshal'));
  });

  it('selects a time range by dragging across the timeline', async () => {
    await open({ from: String(now - 60 * MIN), until: String(now) });
    await frame('main.devOnlyDebugHandler').waitFor();
    const box = await page.locator('[data-testid="timeline"] svg').boundingBox();
    assert.ok(box);
    // 5%..45% of the last hour: 57 to 33 minutes ago, the baseline uploads only
    await page.mouse.move(box.x + box.width * 0.05, box.y + 30);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.25, box.y + 30, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.45, box.y + 30, { steps: 5 });
    await page.mouse.up();
    await frame('main.devOnlyDebugHandler').waitFor({ state: 'detached' });
    const url = new URL(page.url());
    const from = Number(url.searchParams.get('from'));
    const until = Number(url.searchParams.get('until'));
    assert.ok(Math.abs(from - (now - 57 * MIN)) < 2 * MIN, `from ${new Date(from).toISOString()}`);
    assert.ok(
      Math.abs(until - (now - 33 * MIN)) < 2 * MIN,
      `until ${new Date(until).toISOString()}`,
    );
    await frame('encoding/json.Marshal').hover();
    // baseline only: 5 × 10 samples of json.Marshal of 5 × 110 in all
    assert.match(await page.locator('[role="tooltip"]').innerText(), /total\s+500 ms \(9\.09%\)/);
  });

  it('shows a regression in red and an improvement in green in the diff view', async () => {
    await open({
      view: 'diff',
      from: String(now - 60 * MIN),
      until: String(now),
      f: JSON.stringify([{ name: 'env', op: '=', value: 'prod' }]),
      lf: String(now - 55 * MIN),
      lu: String(now - 30 * MIN),
      rf: String(now - 25 * MIN),
      ru: String(now),
    });
    await frame('encoding/json.Marshal').waitFor();
    const fill = (name: string) => frame(name).locator('rect').getAttribute('fill');
    assert.match((await fill('encoding/json.Marshal')) ?? '', /^hsl\(0 /, 'regression is red');
    assert.match((await fill('sort.Slice')) ?? '', /^hsl\(130 /, 'improvement is green');
    const row = page.locator('[data-testid="top-table"] tbody tr', {
      has: page.locator('td.name', { hasText: 'encoding/json.Marshal' }),
    });
    await expectClass(row.locator('td').last(), 'worse');
    // 10 of 110 → 60 of 145 per upload: the share grows from 9.1% to 41.4%
    assert.equal((await row.locator('td').last().textContent())?.trim(), '+355%');
    await frame('encoding/json.Marshal').hover();
    const tip = await page.locator('[role="tooltip"]').innerText();
    assert.match(tip, /baseline/);
    assert.match(tip, /comparison/);
    await page.mouse.move(0, 0);
    await shot('diff');
  });

  it('shows the profile of the given spans (SelectMergeSpanProfile)', async () => {
    await page.goto(
      `${app.url}/?${new URLSearchParams({ tenant, service: spanService, type: CPU, view: 'spans' })}`,
    );
    await page.fill('#span-ids', spanA);
    await page.getByRole('button', { name: 'Show span profile' }).click();
    await frame('main.reserveStock').waitFor();
    let names = await frameNames();
    assert.ok(!names.includes('main.chargeCard'), names.join(', '));
    assert.ok(!names.includes('main.backgroundSync'), names.join(', '));
    await page.fill('#span-ids', `${spanA}, ${spanB}`);
    await page.getByRole('button', { name: 'Show span profile' }).click();
    await frame('main.chargeCard').waitFor();
    names = await frameNames();
    assert.ok(names.includes('main.reserveStock'));
    assert.ok(!names.includes('main.backgroundSync'));
    await shot('spans');
  });

  it('finds a trace, draws its waterfall, and a click on a span draws its span profile', async () => {
    await waitFor('the trace in the span store', 60_000, async () => {
      const r = await fetch(`${app.url}/api/traces/${traceId}`, {
        headers: { 'x-scope-orgid': tenant },
      });
      return r.status === 200 ? true : undefined;
    });
    await page.goto(
      `${app.url}/?${new URLSearchParams({ tenant, service: spanService, type: CPU, view: 'traces' })}`,
    );
    await page.fill('#trace-service', spanService);
    await page.fill('#trace-min', '500');
    await page.getByRole('button', { name: 'Search traces' }).click();
    const row = page.locator('[data-testid="trace-list"] tbody tr', { hasText: traceId });
    await row.waitFor();
    assert.match(await row.innerText(), /POST \/order/);
    await row.click();
    const spanRow = (spanId: string) =>
      page.locator(`[data-testid="waterfall"] [data-span-id="${spanId}"]`);
    await spanRow(spanB).waitFor();
    assert.equal(await page.locator('[data-testid="waterfall"] .span-row').count(), 3);
    // the spans whose ids label profile samples carry the badge and open a span profile; the
    // third does not, and says why
    for (const profiled of [spanA, spanB]) {
      assert.equal(await spanRow(profiled).locator('.span-badge').count(), 1, profiled);
      assert.equal(await spanRow(profiled).getAttribute('data-profiled'), 'true');
      assert.ok(await spanRow(profiled).locator('button.span-main').isEnabled());
    }
    assert.equal(await spanRow(spanC).locator('.span-badge').count(), 0);
    assert.equal(await spanRow(spanC).getAttribute('data-profiled'), 'false');
    assert.ok(await spanRow(spanC).locator('button.span-main').isDisabled());
    assert.match(
      (await spanRow(spanC).locator('button.span-main').getAttribute('title')) ?? '',
      /not profiled/,
    );
    assert.match(
      await page.getByRole('button', { name: 'Profile of the whole trace' }).innerText(),
      /\(2\)/,
    );
    await spanRow(spanA).click();
    await frame('main.reserveStock').waitFor();
    let names = await frameNames();
    assert.ok(!names.includes('main.chargeCard'), names.join(', '));
    assert.ok(!names.includes('main.backgroundSync'), names.join(', '));
    await page.getByRole('button', { name: 'Profile of the whole trace' }).click();
    await frame('main.chargeCard').waitFor();
    names = await frameNames();
    assert.ok(names.includes('main.reserveStock'));
    assert.ok(!names.includes('main.backgroundSync'));
    await shot('traces');
  });

  it('opens a span profile in a type its spans have samples of when the selected type has none', async () => {
    // the Node.js service's wall type is selected; the trace's spans are profiled on CPU only
    await page.goto(
      `${app.url}/?${new URLSearchParams({ tenant, service: nodeService, type: WALL, view: 'traces', trace: traceId })}`,
    );
    await page.waitForURL((u) => u.searchParams.get('type') === WALL);
    const spanRowA = page.locator(`[data-testid="waterfall"] [data-span-id="${spanA}"]`);
    await spanRowA.locator('.span-badge').waitFor();
    await spanRowA.click();
    await frame('main.reserveStock').waitFor();
    assert.equal(await page.getByTestId('span-profile-type').innerText(), CPU);
    assert.match(
      await page.locator('[data-testid="span-profile"] .hint').innerText(),
      /no samples of the selected type/,
    );
  });

  it('lists the span ids of the flame graph’s selection with their traces, and opens both', async () => {
    await page.goto(
      `${app.url}/?${new URLSearchParams({ tenant, service: spanService, type: CPU })}`,
    );
    const list = page.locator('[data-testid="spans-list"]');
    const rows = list.locator('tbody tr');
    await rows.first().waitFor();
    // the top span ids by value: spanA (50 samples) before spanB (20), each joined with its span
    assert.deepEqual(
      await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-span-id'))),
      [spanA, spanB],
    );
    const a = await rows.nth(0).innerText();
    assert.match(a, new RegExp(traceId));
    assert.match(a, /POST \/order/);
    assert.match(a, /500 ms/);
    assert.match(a, /700\.0 ms/);
    assert.match(await rows.nth(1).innerText(), /charge card/);
    assert.match(
      await list.locator('[data-testid="spans-list-note"]').innerText(),
      /All 2 span ids/,
    );
    await shot('spans-list');
    // the trace id opens its waterfall
    await rows.nth(1).locator('button.trace-open').click();
    await page.waitForURL((u) => u.searchParams.get('trace') === traceId);
    assert.equal(new URL(page.url()).searchParams.get('view'), 'traces');
    await page.locator(`[data-testid="waterfall"] [data-span-id="${spanC}"]`).waitFor();
    // Back, and the span id opens its span profile
    await page.goBack();
    await rows.first().waitFor();
    await rows.nth(1).locator('button.span-open').click();
    await page.waitForURL((u) => u.searchParams.get('spans') === spanB);
    await frame('main.chargeCard').waitFor();
    const names = await frameNames();
    assert.ok(!names.includes('main.reserveStock'), names.join(', '));
  });

  it('links a span’s runtime_id to the profiles of that service instance around the span', async () => {
    await page.goto(
      `${app.url}/?${new URLSearchParams({ tenant, service: spanService, type: CPU, view: 'traces', trace: traceId })}`,
    );
    const link = page.locator(
      `[data-testid="waterfall"] [data-span-id="${spanB}"] button.runtime-link`,
    );
    await link.waitFor();
    assert.match(await link.innerText(), new RegExp(runtimeId));
    await link.click();
    await page.waitForURL((u) => u.searchParams.get('view') === null);
    const url = new URL(page.url());
    assert.deepEqual(JSON.parse(url.searchParams.get('f') ?? '[]'), [
      { name: 'runtime_id', op: '=', value: runtimeId },
    ]);
    assert.equal(url.searchParams.get('service'), spanService);
    // the span's range (it started 4.7 s before the profile's upload), widened by a minute
    // before and 15 s after
    const spanStart = spansAt - 5_000 + 300;
    assert.equal(Number(url.searchParams.get('from')), spanStart - MIN);
    assert.equal(Number(url.searchParams.get('until')), spanStart + 200 + 15_000);
    assert.equal(
      await page.locator('[data-testid="selector"]').innerText(),
      `{service_name="${spanService}",runtime_id="${runtimeId}"}`,
    );
    await frame('main.reserveStock').waitFor();
  });

  it('exports the current selection as a pprof file (SelectMergeProfile)', async () => {
    await open({ from: 'now-1h', until: 'now' });
    await frame('encoding/json.Marshal').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export pprof' }).click(),
    ]);
    assert.match(download.suggestedFilename(), new RegExp(`^${service}-process_cpu-.*\\.pb\\.gz$`));
    const file = await download.path();
    const raw = readFileSync(file);
    assert.equal(raw[0], 0x1f, 'gzipped');
    const profile = PprofProfile.decode(gunzipSync(raw));
    const strings = profile.stringTable.strings;
    for (const fn of ['encoding/json.Marshal', 'main.handleCheckout', 'main.devOnlyDebugHandler'])
      assert.ok(strings.includes(fn), `${fn} not in the exported profile`);
    let total = 0n;
    const cpuIndex = profile.sampleType.findIndex((t) => strings[Number(t.type)] === 'cpu');
    assert.ok(cpuIndex >= 0, 'a cpu sample type');
    for (const s of profile.sample) total += BigInt(s.value[cpuIndex]);
    assert.equal(total, BigInt((5 * 110 + 5 * 145 + 2 * 40) * 10_000_000));
  });

  it('lists the fleet: which agents sent what, when, and their last error', async () => {
    await page.goto(`${app.url}/?${new URLSearchParams({ tenant, view: 'fleet' })}`);
    const table = page.locator('[data-testid="fleet-table"]');
    await table.waitFor();
    const row = table.locator('tbody tr', { has: page.locator('td', { hasText: service }) });
    await row.first().waitFor();
    assert.match(await row.first().innerText(), /embedded: sent/);
    assert.match(await table.innerText(), new RegExp(spanService));
    await shot('fleet');
    // a service links to its flame graph
    await row.first().getByRole('button', { name: service }).click();
    await frame('encoding/json.Marshal').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('service'), service);
  });

  it('zooms out to twice the range', async () => {
    await open({ from: String(now - 40 * MIN), until: String(now - 20 * MIN) });
    await frame('main.handleCheckout').waitFor();
    await page.getByRole('button', { name: 'Zoom out' }).click();
    await page.waitForURL((u) => Number(u.searchParams.get('from')) < now - 40 * MIN);
    const url = new URL(page.url());
    const span = Number(url.searchParams.get('until')) - Number(url.searchParams.get('from'));
    assert.equal(Math.round(span / MIN), 40);
  });

  it('shows nothing of this tenant to another tenant', async () => {
    await page.goto(`${app.url}/?tenant=someone-else-${id}`);
    await page.getByText('No service has profiles in this range for this tenant.').waitFor();
    assert.equal(await page.locator(`#service option[value="${service}"]`).count(), 0);
  });

  it('drops the tooltip when the profile type changes or the graph zooms under a still pointer', async () => {
    await page.goto(
      `${app.url}/?${new URLSearchParams({ tenant, service: spanService, type: CPU })}`,
    );
    await frame('main.serveOrder').waitFor();
    await frame('main.serveOrder').hover();
    const tooltip = page.locator('[role="tooltip"]');
    assert.match(await tooltip.innerText(), /main\.serveOrder[\s\S]*total\s+700 ms \(70(\.0)?%\)/);
    // another profile type, chosen with the keyboard: the pointer does not move
    await page.focus('#profile-type');
    await page.selectOption('#profile-type', CPU_SAMPLES);
    await page.waitForURL((u) => u.searchParams.get('type') === CPU_SAMPLES);
    await frame('main.serveOrder').waitFor();
    await tooltip.waitFor({ state: 'detached' });
    await shot('tooltip-after-type-switch');
    // moving again shows the frame under the pointer in the new profile, in its unit
    await frame('main.serveOrder').hover({ position: { x: 5, y: 5 } });
    assert.match(await tooltip.innerText(), /total\s+70 \(70(\.0)?%\)/);
    // zooming: the click is the last pointer event, the graph redraws under it
    await frame('main.serveOrder').locator('rect').click();
    await page.locator('nav.breadcrumbs[data-root="main.serveOrder"]').waitFor();
    assert.equal(await tooltip.count(), 0);
    await shot('tooltip-after-zoom');
    await page.mouse.move(0, 0);
  });

  it('after a tenant switch the Service box shows the new tenant’s service', async () => {
    await open({ from: 'now-1h', until: 'now' });
    await frame('main.handleCheckout').waitFor();
    await page.fill('#tenant', otherTenant);
    await page.press('#tenant', 'Enter');
    await page.waitForURL((u) => u.searchParams.get('tenant') === otherTenant);
    await page.locator(`#service option[value="${otherService}"]`).waitFor({ state: 'attached' });
    await frame('main.invoice').waitFor();
    assert.equal(await page.inputValue('#service'), otherService);
    assert.equal(new URL(page.url()).searchParams.get('service'), otherService);
    assert.equal(await page.locator(`#service option[value="${service}"]`).count(), 0);
    await shot('tenant-switch');
  });

  it('opens a Node.js wall profile on wall time, not on the sample count', async () => {
    await page.goto(`${app.url}/?${new URLSearchParams({ tenant, service: nodeService })}`);
    await page.waitForURL((u) => u.searchParams.get('type') !== null);
    assert.equal(new URL(page.url()).searchParams.get('type'), WALL);
    assert.equal(await page.inputValue('#profile-type'), WALL);
    await frame('handleRequest').hover();
    // 40 samples of 10 ms of wall time
    assert.match(
      await page.locator('[role="tooltip"]').innerText(),
      /total\s+400 ms \(40(\.0)?%\)/,
    );
    await shot('node-wall-default');
    await page.mouse.move(0, 0);
  });

  it('draws the timeline’s "max" label clear of the bars', async () => {
    await open({ from: String(now - 25 * MIN), until: String(now - 5 * MIN) });
    await frame('encoding/json.Marshal').waitFor();
    const label = page.locator('[data-testid="timeline-max"]');
    assert.match(await label.innerText(), /^max \d/);
    const lb = await label.boundingBox();
    assert.ok(lb);
    const bars = await page.locator('[data-testid="timeline"] g.bars rect').evaluateAll((rs) =>
      rs.map((r) => {
        const { x, y, width, height } = r.getBoundingClientRect();
        return { x, y, width, height };
      }),
    );
    assert.ok(bars.length > 0);
    for (const b of bars) {
      const overlaps =
        lb.x < b.x + b.width &&
        b.x < lb.x + lb.width &&
        lb.y < b.y + b.height &&
        b.y < lb.y + lb.height;
      assert.ok(!overlaps, `the label ${JSON.stringify(lb)} overlaps a bar ${JSON.stringify(b)}`);
    }
    await page
      .locator('[data-testid="timeline"]')
      .screenshot({ path: join(SHOTS, 'timeline-max.png') });
  });

  it('signs in to a tenant with credentials and keeps them in the page only', async () => {
    const errorsBefore = pageErrors.length;
    await page.goto(`${app.url}/?${new URLSearchParams({ tenant: secureTenant })}`);
    const form = page.locator('[data-testid="sign-in"]');
    await form.waitFor();
    assert.match(await form.innerText(), new RegExp(`Sign in to tenant ${secureTenant}`));
    await shot('sign-in');
    // a wrong password is refused with the server's reason
    await page.fill('#sign-in-user', 'ui');
    await page.fill('#sign-in-secret', 'wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'invalid credentials' }).waitFor();
    await page.fill('#sign-in-user', 'ui');
    await page.fill('#sign-in-secret', securePassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await frame('main.seal').waitFor();
    assert.equal(await page.inputValue('#service'), secureService);
    await shot('signed-in');
    // nowhere but in the page's memory
    const b64 = Buffer.from(`ui:${securePassword}`).toString('base64');
    const url = page.url();
    assert.ok(!url.includes(securePassword) && !url.includes(b64), url);
    const stored = await page.evaluate(() => {
      type Store = {
        length: number;
        key(i: number): string | null;
        getItem(k: string): string | null;
      };
      const w = globalThis as unknown as { localStorage: Store; sessionStorage: Store };
      const all: string[] = [];
      for (const st of [w.localStorage, w.sessionStorage])
        for (let i = 0; i < st.length; i++) all.push(`${st.key(i)}=${st.getItem(st.key(i)!)}`);
      return all.join('\n');
    });
    assert.ok(!stored.includes(securePassword) && !stored.includes(b64), stored);
    assert.equal(
      await page.evaluate(
        () =>
          (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length,
      ),
      0,
    );
    // a reload forgets it; a Bearer token works as well
    await page.reload();
    await form.waitFor();
    await page.getByLabel('Token (Bearer)').check();
    await page.fill('#sign-in-secret', secureToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await frame('main.seal').waitFor();
    // another tenant never gets this tenant's credential
    await page.getByRole('button', { name: 'Sign out' }).click();
    await form.waitFor();
    // the 401s that ask for the sign-in (Chromium logs each refused request) are this test's
    // protocol; anything else it logged stays for the check below
    const mine = pageErrors.splice(errorsBefore);
    const other = mine.filter((e) => !/status of 401 \(Unauthorized\)/.test(e));
    assert.ok(mine.length > other.length, 'the sign-in was asked for by a 401');
    pageErrors.push(...other);
  });

  it('says where the data is when the selected range has none, and shows it on request', async () => {
    await page.goto(`${app.url}/?${new URLSearchParams({ tenant: backfillTenant })}`);
    const notice = page.locator('[data-testid="no-data-notice"]');
    await notice.waitFor();
    assert.match(
      await notice.innerText(),
      /No profiles in the selected range\. This tenant \(old-/,
    );
    await shot('no-data-notice');
    await notice.getByRole('button', { name: 'Show that range' }).click();
    await frame('main.replayed').waitFor();
    const u = new URL(page.url());
    assert.equal(u.searchParams.get('service'), backfillService);
    const from = Number(u.searchParams.get('from'));
    const until = Number(u.searchParams.get('until'));
    assert.ok(from <= backfillAt && backfillAt <= until, `${from}..${until} misses ${backfillAt}`);
    assert.ok(until - from < 6 * 60 * MIN, 'a range around the data, not days of nothing');
    assert.equal(await notice.count(), 0);
  });

  it('raised no page or console error on the way', () => {
    assert.deepEqual(pageErrors, []);
  });
});

async function expectClass(loc: ReturnType<Page['locator']>, cls: string): Promise<void> {
  const c = (await loc.getAttribute('class')) ?? '';
  assert.ok(c.split(/\s+/).includes(cls), `class "${c}" lacks ${cls}`);
}
