import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RetryableError } from '../../model/index.js';
import type { AttributeScalar, SpanRecord, StoredSpanBlobs } from '../../protocol/index.js';
import { compileTraceQL, type SpanView } from './traceql.js';

// The embedded span store: every span of the traces Emberflow accepted, on local disk in SQLite
// beside the profile store (store/spans.sqlite), keyed by (tenant, trace id, span id), so a
// redelivered request is a no-op. A row keeps the columns searches filter on (ids in hex,
// service, name, kind, status, start, duration, resource and span attributes as JSON) and the
// span, its resource and scope as binary OTLP, so a trace reads back as sent. Retention is the
// profile store's: by age of storage, then by total size, oldest first (ADR 0015).
//
// Ownership: one process owns the file (the exporter that hosts the embedded store); reads run
// on its event loop and are bounded (`maxScan` spans per search).

export interface SpanStoreOptions {
  dataDir: string;
  retentionMs: number;
  maxBytes: number;
}

export interface SearchQuery {
  tenant: string;
  /** TraceQL subset (traceql.ts); '' = every trace */
  q: string;
  /** legacy tag search: every pair must match a span (intrinsic name, or an attribute) */
  tags: Record<string, string>;
  /** trace duration bounds, ns */
  minDurationNanos?: number;
  maxDurationNanos?: number;
  /** span start bounds, ms since epoch */
  startMs: number;
  endMs: number;
  limit: number;
  /** spans a search reads at most (the most recent of the range first) */
  maxScan?: number;
  /** matched spans listed per trace */
  spansPerSpanSet?: number;
}

export interface MatchedSpan {
  spanId: string;
  name: string;
  startTimeUnixNano: string;
  durationNanos: string;
  attributes: { key: string; value: { stringValue: string } }[];
}

export interface TraceSummary {
  /** Tempo's spelling */
  traceID: string;
  rootServiceName: string;
  rootTraceName: string;
  startTimeUnixNano: string;
  durationMs: number;
  spanSet: { spans: MatchedSpan[]; matched: number };
}

export interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  kind: number;
  statusCode: number;
  statusMessage: string;
  startUnixNano: string;
  durationNanos: number;
  resourceAttributes: Record<string, AttributeScalar>;
  spanAttributes: Record<string, AttributeScalar>;
}

interface DbRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  service: string;
  name: string;
  kind: number;
  status_code: number;
  status_message: string;
  start_ns: string;
  duration_ns: number;
  resource_attrs: string;
  span_attrs: string;
}

const COLUMNS =
  'trace_id, span_id, parent_span_id, service, name, kind, status_code, status_message, start_ns, duration_ns, resource_attrs, span_attrs';

/** Intrinsic tag names searchable with `tags=` and listed by the tag APIs. */
export const INTRINSIC_TAGS = ['name', 'status', 'kind', 'duration'] as const;

function rowOf(r: DbRow): SpanRow {
  return {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    service: r.service,
    name: r.name,
    kind: r.kind,
    statusCode: r.status_code,
    statusMessage: r.status_message,
    startUnixNano: r.start_ns,
    durationNanos: r.duration_ns,
    resourceAttributes: JSON.parse(r.resource_attrs) as Record<string, AttributeScalar>,
    spanAttributes: JSON.parse(r.span_attrs) as Record<string, AttributeScalar>,
  };
}

export class SpanStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private closed = false;

  constructor(private readonly options: SpanStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.db = new Database(join(options.dataDir, 'spans.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('cache_size = -8192');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS spans (
        tenant TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        parent_span_id TEXT NOT NULL,
        service TEXT NOT NULL,
        name TEXT NOT NULL,
        kind INTEGER NOT NULL,
        status_code INTEGER NOT NULL,
        status_message TEXT NOT NULL,
        start_ns TEXT NOT NULL,
        start_us INTEGER NOT NULL,
        duration_ns INTEGER NOT NULL,
        resource_attrs TEXT NOT NULL,
        span_attrs TEXT NOT NULL,
        resource BLOB NOT NULL,
        scope BLOB NOT NULL,
        span BLOB NOT NULL,
        stored_ms INTEGER NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (tenant, trace_id, span_id)
      );
      CREATE INDEX IF NOT EXISTS spans_by_time ON spans (tenant, start_us);
      CREATE INDEX IF NOT EXISTS spans_by_service ON spans (tenant, service, start_us);
      CREATE INDEX IF NOT EXISTS spans_by_span_id ON spans (tenant, span_id);
      CREATE INDEX IF NOT EXISTS spans_by_age ON spans (stored_ms);
    `);
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO spans (tenant, trace_id, span_id, parent_span_id, service, name, kind, status_code, status_message, start_ns, start_us, duration_ns, resource_attrs, span_attrs, resource, scope, span, stored_ms, size)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Stores spans in one transaction; a span already stored is left as it is. */
  add(tenant: string, spans: readonly SpanRecord[], now = Date.now()): number {
    if (this.closed) throw new RetryableError('span store is closed');
    let added = 0;
    try {
      this.db.transaction(() => {
        for (const s of spans) {
          const resourceAttrs = JSON.stringify(s.resourceAttributes);
          const spanAttrs = JSON.stringify(s.spanAttributes);
          const duration = s.endUnixNano > s.startUnixNano ? s.endUnixNano - s.startUnixNano : 0n;
          added += this.insert.run(
            tenant,
            s.traceId,
            s.spanId,
            s.parentSpanId,
            s.service,
            s.name,
            s.kind,
            s.statusCode,
            s.statusMessage,
            s.startUnixNano.toString(),
            Number(s.startUnixNano / 1000n),
            Number(duration),
            resourceAttrs,
            spanAttrs,
            Buffer.from(s.resource),
            Buffer.from(s.scope),
            Buffer.from(s.span),
            now,
            s.span.length + s.resource.length + resourceAttrs.length + spanAttrs.length + 128,
          ).changes;
        }
      })();
    } catch (err) {
      throw new RetryableError(`span store write failed: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
    return added;
  }

  /** The stored spans of one trace, by start time: their binary OTLP parts. */
  traceBlobs(tenant: string, traceId: string): StoredSpanBlobs[] {
    return this.db
      .prepare(
        'SELECT resource, scope, span FROM spans WHERE tenant = ? AND trace_id = ? ORDER BY start_us, span_id',
      )
      .all(tenant, traceId.toLowerCase()) as StoredSpanBlobs[];
  }

  /** The stored spans of one trace, by start time: their indexed columns. */
  traceSpans(tenant: string, traceId: string): SpanRow[] {
    return (
      this.db
        .prepare(
          `SELECT ${COLUMNS} FROM spans WHERE tenant = ? AND trace_id = ? ORDER BY start_us, span_id`,
        )
        .all(tenant, traceId.toLowerCase()) as DbRow[]
    ).map(rowOf);
  }

  /** Spans by span id (the web UI's link from a profile's span_id label to its trace). */
  spansById(tenant: string, spanIds: readonly string[]): SpanRow[] {
    if (spanIds.length === 0) return [];
    const out: SpanRow[] = [];
    const stmt = this.db.prepare(`SELECT ${COLUMNS} FROM spans WHERE tenant = ? AND span_id = ?`);
    for (const id of spanIds.slice(0, 1000))
      for (const r of stmt.all(tenant, id.toLowerCase()) as DbRow[]) out.push(rowOf(r));
    return out;
  }

  /**
   * Traces with a span starting in the range that match the query, most recent first. The
   * query sees the spans of the range (at most maxScan of them, the most recent).
   */
  search(sq: SearchQuery): TraceSummary[] {
    const query = compileTraceQL(sq.q);
    const rows = this.db
      .prepare(
        `SELECT ${COLUMNS} FROM spans WHERE tenant = ? AND start_us >= ? AND start_us <= ? ORDER BY start_us DESC LIMIT ?`,
      )
      .all(sq.tenant, sq.startMs * 1000, sq.endMs * 1000, sq.maxScan ?? 100_000) as DbRow[];
    const byTrace = new Map<string, SpanRow[]>();
    for (const r of rows) {
      let list = byTrace.get(r.trace_id);
      if (!list) byTrace.set(r.trace_id, (list = []));
      list.push(rowOf(r));
    }
    const tags = Object.entries(sq.tags);
    const out: TraceSummary[] = [];
    for (const [traceId, spans] of byTrace) {
      if (out.length >= sq.limit) break;
      const views: SpanView[] = spans.map((s) => ({
        name: s.name,
        durationNanos: s.durationNanos,
        statusCode: s.statusCode,
        statusMessage: s.statusMessage,
        kind: s.kind,
        spanAttributes: s.spanAttributes,
        resourceAttributes: s.resourceAttributes,
      }));
      const selected = query.select(views);
      if (!selected) continue;
      if (tags.length > 0 && !tags.every(([k, v]) => spans.some((s) => tagMatches(s, k, v))))
        continue;
      const summary = this.summarize(sq.tenant, traceId);
      if (!summary) continue;
      const durNs = summary.durationNs;
      if (sq.minDurationNanos !== undefined && durNs < sq.minDurationNanos) continue;
      if (sq.maxDurationNanos !== undefined && durNs > sq.maxDurationNanos) continue;
      const limit = sq.spansPerSpanSet ?? 3;
      out.push({
        traceID: traceId,
        rootServiceName: summary.rootService,
        rootTraceName: summary.rootName,
        startTimeUnixNano: summary.startNs,
        durationMs: Math.round(durNs / 1e6),
        spanSet: {
          matched: selected.length,
          spans: selected.slice(0, limit).map((i) => {
            const s = spans[i];
            return {
              spanId: s.spanId,
              name: s.name,
              startTimeUnixNano: s.startUnixNano,
              durationNanos: String(s.durationNanos),
              attributes: [{ key: 'service.name', value: { stringValue: s.service } }],
            };
          }),
        },
      });
    }
    return out;
  }

  /** Root service and name (of the span without parent, else the earliest), start and span. */
  private summarize(
    tenant: string,
    traceId: string,
  ): { rootService: string; rootName: string; startNs: string; durationNs: number } | null {
    const spans = this.db
      .prepare(
        'SELECT parent_span_id, service, name, start_ns, duration_ns FROM spans WHERE tenant = ? AND trace_id = ?',
      )
      .all(tenant, traceId) as {
      parent_span_id: string;
      service: string;
      name: string;
      start_ns: string;
      duration_ns: number;
    }[];
    if (spans.length === 0) return null;
    let start = BigInt(spans[0].start_ns);
    let end = start;
    let root = spans[0];
    for (const s of spans) {
      const b = BigInt(s.start_ns);
      if (b < start) start = b;
      const e = b + BigInt(s.duration_ns);
      if (e > end) end = e;
      if (s.parent_span_id === '' && root.parent_span_id !== '') root = s;
      else if (
        (s.parent_span_id === '') === (root.parent_span_id === '') &&
        b < BigInt(root.start_ns)
      )
        root = s;
    }
    return {
      rootService: root.service,
      rootName: root.name,
      startNs: start.toString(),
      durationNs: Number(end - start),
    };
  }

  /** Attribute keys seen in the range, by scope. */
  tagNames(tenant: string, startMs: number, endMs: number): { span: string[]; resource: string[] } {
    const keys = (column: string): string[] =>
      (
        this.db
          .prepare(
            `SELECT DISTINCT j.key AS k FROM (SELECT ${column} AS a FROM spans WHERE tenant = ? AND start_us >= ? AND start_us <= ? ORDER BY start_us DESC LIMIT 100000) AS s, json_each(s.a) AS j ORDER BY k LIMIT 10000`,
          )
          .all(tenant, startMs * 1000, endMs * 1000) as { k: string }[]
      ).map((r) => r.k);
    return { span: keys('span_attrs'), resource: keys('resource_attrs') };
  }

  /**
   * Values of a tag in the range: `resource.x`, `span.x`, `.x` / `x` (either scope), or an
   * intrinsic (`name`, `status`, `kind`).
   */
  tagValues(tenant: string, tag: string, startMs: number, endMs: number): AttributeScalar[] {
    const range = 'tenant = ? AND start_us >= ? AND start_us <= ?';
    const args = [tenant, startMs * 1000, endMs * 1000];
    if (tag === 'name' || tag === 'status' || tag === 'kind') {
      const col = { name: 'name', status: 'status_code', kind: 'kind' }[tag];
      const vals = (
        this.db
          .prepare(`SELECT DISTINCT ${col} AS v FROM spans WHERE ${range} ORDER BY v LIMIT 10000`)
          .all(...args) as { v: string | number }[]
      ).map((r) => r.v);
      if (tag === 'status')
        return vals.map((v) => ['unset', 'ok', 'error'][Number(v)] ?? String(v));
      if (tag === 'kind')
        return vals.map(
          (v) =>
            ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'][Number(v)] ??
            String(v),
        );
      return vals;
    }
    let scopes: string[];
    let key = tag;
    if (tag.startsWith('resource.')) {
      scopes = ['resource_attrs'];
      key = tag.slice(9);
    } else if (tag.startsWith('span.')) {
      scopes = ['span_attrs'];
      key = tag.slice(5);
    } else {
      scopes = ['span_attrs', 'resource_attrs'];
      if (key.startsWith('.')) key = key.slice(1);
    }
    const seen = new Set<AttributeScalar>();
    for (const col of scopes) {
      const rows = this.db
        .prepare(
          `SELECT DISTINCT json_extract(${col}, ?) AS v FROM (SELECT ${col} FROM spans WHERE ${range} ORDER BY start_us DESC LIMIT 100000) WHERE v IS NOT NULL LIMIT 10000`,
        )
        .all(`$."${key.replace(/"/g, '')}"`, ...args) as { v: AttributeScalar }[];
      for (const r of rows) seen.add(r.v);
    }
    return [...seen].sort((a, b) => String(a).localeCompare(String(b)));
  }

  /** Drops spans stored longer ago than the retention, then the oldest until under maxBytes. */
  enforceRetention(now = Date.now()): { deleted: number } {
    let deleted = this.db
      .prepare('DELETE FROM spans WHERE stored_ms < ?')
      .run(now - this.options.retentionMs).changes;
    const total = this.storedBytes();
    if (total > this.options.maxBytes) {
      // the oldest rows whose sizes add up to the excess
      const excess = total - this.options.maxBytes;
      const cut = this.db
        .prepare(
          `SELECT stored_ms FROM (SELECT stored_ms, SUM(size) OVER (ORDER BY stored_ms, rowid) AS running FROM spans) WHERE running >= ? LIMIT 1`,
        )
        .get(excess) as { stored_ms: number } | undefined;
      if (cut)
        deleted += this.db
          .prepare('DELETE FROM spans WHERE stored_ms <= ?')
          .run(cut.stored_ms).changes;
    }
    return { deleted };
  }

  storedBytes(): number {
    return (this.db.prepare('SELECT COALESCE(SUM(size), 0) AS s FROM spans').get() as { s: number })
      .s;
  }

  countSpans(tenant?: string): number {
    const r = tenant
      ? (this.db.prepare('SELECT COUNT(*) AS n FROM spans WHERE tenant = ?').get(tenant) as {
          n: number;
        })
      : (this.db.prepare('SELECT COUNT(*) AS n FROM spans').get() as { n: number });
    return r.n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

function tagMatches(s: SpanRow, key: string, value: string): boolean {
  if (key === 'name') return s.name === value;
  if (key === 'service.name' || key === 'resource.service.name') return s.service === value;
  if (key === 'status' || key === 'status.code')
    return ['unset', 'ok', 'error'][s.statusCode] === value || String(s.statusCode) === value;
  const k = key.replace(/^(span|resource)\./, '');
  const v =
    s.spanAttributes[k] ??
    s.resourceAttributes[k] ??
    s.spanAttributes[key] ??
    s.resourceAttributes[key];
  return v !== undefined && String(v) === value;
}
