import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodePprof, decodePprofFlat } from '../../model/pprof/index.js';
import type { NormalizedSeries, SeriesLabel } from '../../queue/index.js';
import { RetryableError, storedSeriesLabels } from '../../model/index.js';
import type { Backend } from '../backend.port.js';
import {
  compactFlat,
  compactProfile,
  decodeCompact,
  encodeCompact,
  valueColumn,
  type CompactProfile,
} from './compact-profile.js';
import { matches, parseSelector, type Matcher } from './label-selector.js';
import { WalCheckpointer } from './wal-checkpointer.js';

/**
 * The labels selectors see for one profile type of a stored series (Pyroscope's stored set);
 * a row with a malformed type id (never written by this version) falls back to its own labels.
 */
export function storedLabelMap(
  labels: readonly SeriesLabel[],
  profileTypeId: string,
): Map<string, string> {
  try {
    return new Map(storedSeriesLabels(labels, profileTypeId).map((l) => [l.name, l.value]));
  } catch {
    return new Map(labels.map((l) => [l.name, l.value]));
  }
}

// The embedded profile store: every normalised series on local disk in SQLite (better-sqlite3,
// synchronous and fast for a single writer), keyed by (tenant, series id), so a redelivered
// series is a no-op. A series is kept in its compact query form (compact-profile.ts), built from
// the decoded profile when the decoder runs in this process and from the pprof otherwise; the
// pprof itself is not kept (only for a series whose compact form could not be built, gzipped).
// Queries merge the compact forms. Retention drops rows by age and then by total size, oldest
// first. A send is one transaction per TX_BYTES of blobs; the process hosting the store
// checkpoints the WAL from a worker thread (checkpointIntervalMs, wal-checkpointer.ts).
//
// Ownership: one process owns the database file (the exporter that hosts the store).

/** Blob bytes written per transaction of a send (see send). */
const TX_BYTES = 1024 * 1024;

/** Resolves after pending I/O had its turn (setImmediate runs after the poll phase). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface EmbeddedStoreOptions {
  dataDir: string;
  retentionMs: number;
  maxBytes: number;
  /**
   * A reader of a store another connection owns (the query workers): opened read-only, no
   * schema changes; it must exist. Writes and retention then fail.
   */
  readOnly?: boolean;
  /**
   * Checkpoint the WAL from a worker thread every this many ms instead of inside the writer's
   * commits on the event loop (wal-checkpointer.ts). Unset: SQLite's automatic checkpoints.
   */
  checkpointIntervalMs?: number;
}

export interface StoredSeries {
  seriesId: string;
  /** the profile this row belongs to: its series id, or the shared id of a split series' parts */
  profileId: string;
  labels: SeriesLabel[];
  profileTypeIds: string[];
  startMs: number;
  endMs: number;
}

export interface SelectQuery {
  tenant: string;
  profileTypeId: string;
  labelSelector: string;
  startMs: number;
  endMs: number;
  /** keep only samples whose span_id is listed (empty or absent: all) */
  spanSelector?: readonly string[];
  /** keep only stacks starting, from the root, with these frames (empty or absent: all) */
  callSite?: readonly string[];
}

export interface ParsedProfileType {
  id: string;
  name: string;
  sampleType: string;
  sampleUnit: string;
  periodType: string;
  periodUnit: string;
}

export function parseProfileTypeId(id: string): ParsedProfileType {
  const parts = id.split(':');
  if (parts.length !== 5) {
    throw new Error(
      `profile type id must be name:sample_type:sample_unit:period_type:period_unit, got ${id}`,
    );
  }
  const [name, sampleType, sampleUnit, periodType, periodUnit] = parts;
  return { id, name, sampleType, sampleUnit, periodType, periodUnit };
}

interface Row {
  series_id: string;
  profile_id: string | null;
  labels: string;
  profile_types: string;
  start_ms: number;
  end_ms: number;
  pprof: Buffer;
  stacks: Buffer | null;
}

const EMPTY = Buffer.alloc(0);

export class EmbeddedStore implements Backend {
  readonly name = 'embedded';
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly readBlobs: Database.Statement;
  private closed = false;
  private checkpointer: WalCheckpointer | undefined;

  constructor(private readonly options: EmbeddedStoreOptions) {
    if (options.readOnly) {
      this.db = new Database(join(options.dataDir, 'profiles.sqlite'), {
        readonly: true,
        fileMustExist: true,
      });
      this.readBlobs = this.db.prepare(
        'SELECT pprof, stacks FROM series WHERE tenant = ? AND series_id = ?',
      );
      this.insert = this.readBlobs; // never run: send() refuses on a reader
      return;
    }
    mkdirSync(options.dataDir, { recursive: true });
    this.db = new Database(join(options.dataDir, 'profiles.sqlite'));
    // 16 KiB pages for a new file (an existing one keeps its size): a row is a profile blob of
    // tens to hundreds of KB, and with 4 KiB pages each one was a chain of overflow pages, each a
    // WAL frame written, checksummed and checkpointed on its own. Measured on a 330 KB blob:
    // 0.32 -> 0.17 ms to write, 0.47 -> 0.25 ms to checkpoint (64 KiB saved no more).
    this.db.pragma('page_size = 16384');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // the page cache is the store's only cache: bounded, so the process's memory is too
    this.db.pragma('cache_size = -16384');
    if (options.checkpointIntervalMs) {
      this.checkpointer = new WalCheckpointer(
        this.db,
        join(options.dataDir, 'profiles.sqlite'),
        options.checkpointIntervalMs,
      );
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS series (
        tenant TEXT NOT NULL,
        series_id TEXT NOT NULL,
        service_name TEXT NOT NULL,
        labels TEXT NOT NULL,
        profile_types TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        stored_ms INTEGER NOT NULL,
        size INTEGER NOT NULL,
        pprof BLOB NOT NULL,
        PRIMARY KEY (tenant, series_id)
      );
      CREATE INDEX IF NOT EXISTS series_by_time ON series (tenant, end_ms);
      CREATE INDEX IF NOT EXISTS series_by_age ON series (stored_ms);
    `);
    // stores created before the compact form existed get the column; their rows stay readable
    // (queries decode their pprof instead)
    const cols = this.db.prepare('PRAGMA table_info(series)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'stacks')) {
      this.db.exec('ALTER TABLE series ADD COLUMN stacks BLOB');
    }
    // the parts of a split series share a profile id; rows from before parts existed have none
    // (each is its own profile)
    if (!cols.some((c) => c.name === 'profile_id')) {
      this.db.exec('ALTER TABLE series ADD COLUMN profile_id TEXT');
    }
    // queries select by profile time (start_ms); the end_ms indexes of older stores stay
    this.db.exec(`
      CREATE INDEX IF NOT EXISTS series_by_service ON series (tenant, service_name, end_ms);
      CREATE INDEX IF NOT EXISTS series_by_start ON series (tenant, start_ms);
      CREATE INDEX IF NOT EXISTS series_by_service_start ON series (tenant, service_name, start_ms);
    `);
    this.readBlobs = this.db.prepare(
      'SELECT pprof, stacks FROM series WHERE tenant = ? AND series_id = ?',
    );
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO series (tenant, series_id, service_name, labels, profile_types, start_ms, end_ms, stored_ms, size, pprof, stacks, profile_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** the directory of the SQLite file (query workers open their own reader on it) */
  get dataDir(): string {
    return this.options.dataDir;
  }

  async send(series: readonly NormalizedSeries[]): Promise<void> {
    if (this.closed) throw new RetryableError('embedded store is closed');
    if (this.options.readOnly) throw new Error('embedded store opened read-only');
    const now = Date.now();
    const rows: (readonly unknown[])[] = [];
    for (const s of series) {
      // Each series costs milliseconds to hundreds of them (a 12,000-stack profile ~200 ms):
      // give the event loop a turn between series, so a batch never holds up HTTP answers and
      // health checks of the process for the sum of them. A compact form handed over by a
      // decode worker costs nothing here: no turn for it.
      if (rows.length > 0 && !s.compact) await nextTurn();
      let blob = EMPTY;
      let stacks: Buffer | null = null;
      try {
        // a decode worker of this process may have built it already (NormalizedSeries.compact)
        stacks = s.compact
          ? Buffer.from(s.compact.buffer, s.compact.byteOffset, s.compact.byteLength)
          : encodeCompact(compactFlat(s.profile ?? decodePprofFlat(s.pprof)));
      } catch {
        // the decoder validated this pprof; should it still not decode, it is kept as it is
        blob = gzipSync(s.pprof, { level: 1 });
      }
      rows.push([
        s.tenant,
        s.seriesId,
        s.labels.find((l) => l.name === 'service_name')?.value ?? '',
        JSON.stringify(s.labels),
        JSON.stringify(s.profileTypeIds),
        s.startMs,
        s.endMs,
        now,
        blob.length + (stacks?.length ?? 0),
        blob,
        stacks,
        s.profileId && s.profileId !== s.seriesId ? s.profileId : null,
      ] as const);
    }
    // Transactions of at most TX_BYTES of blobs, a turn of the event loop between them: writing
    // costs about 8 ms of CPU per MB of blob (WAL pages, overflow chains, checkpoints), and an exporter
    // batch of JFR series (5 series, ~330 KB per upload) held the loop for tens of ms in one
    // transaction. A failed send may have written some of its rows: the exporter retries the
    // batch, and those rows are then ignored (INSERT OR IGNORE on the series id).
    try {
      for (let i = 0; i < rows.length;) {
        const from = i;
        let bytes = 0;
        while (i < rows.length && (i === from || bytes + (rows[i][8] as number) <= TX_BYTES))
          bytes += rows[i++][8] as number;
        if (from > 0) await nextTurn();
        if (this.closed) throw new Error('embedded store closed during a send');
        this.db.transaction(() => {
          for (let k = from; k < i; k++) this.insert.run(...rows[k]);
        })();
      }
    } catch (err) {
      // SQLITE_BUSY / disk full: the rows of the failed transaction were not written; the
      // exporter retries
      throw new RetryableError(
        `embedded store write failed: ${(err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
  }

  /** Drops series older than the retention, then the oldest until under maxBytes. */
  enforceRetention(now = Date.now()): { deleted: number } {
    let deleted = this.db
      .prepare('DELETE FROM series WHERE stored_ms < ?')
      .run(now - this.options.retentionMs).changes;
    const total = (
      this.db.prepare('SELECT COALESCE(SUM(size), 0) AS s FROM series').get() as { s: number }
    ).s;
    if (total > this.options.maxBytes) {
      let excess = total - this.options.maxBytes;
      const old = this.db
        .prepare('SELECT tenant, series_id, size FROM series ORDER BY stored_ms ASC')
        .iterate() as Iterable<{
        tenant: string;
        series_id: string;
        size: number;
      }>;
      const victims: [string, string][] = [];
      for (const r of old) {
        if (excess <= 0) break;
        victims.push([r.tenant, r.series_id]);
        excess -= r.size;
      }
      const del = this.db.prepare('DELETE FROM series WHERE tenant = ? AND series_id = ?');
      this.db.transaction(() =>
        victims.forEach(([t, id]) => (deleted += del.run(t, id).changes)),
      )();
    }
    return { deleted };
  }

  /**
   * Series of a tenant whose profile time lies in [startMs, endMs] (both inclusive: Pyroscope's
   * `pkg/querybackend` selects profiles by their timestamp, `time_nanos`, never by a range) and
   * that satisfy the selector: metadata only (the profile blobs are read separately, for the
   * matching rows alone). Selectors match the label set Pyroscope stores per profile type
   * (`storedSeriesLabels`: `__type__`, `__unit__`, `__period_type__`, `__service_name__`, ...,
   * no `__delta__`, no empty values); a series stored with several types (alloc and inuse of one
   * heap profile) matches when any of them does, or, with `profileTypeId`, when that one does.
   * An equality matcher on service_name is answered by the index.
   */
  select(
    tenant: string,
    matchers: readonly Matcher[],
    startMs: number,
    endMs: number,
    profileTypeId?: string,
  ): StoredSeries[] {
    const service = matchers.find(
      (m) => (m.name === 'service_name' || m.name === '__service_name__') && m.op === '=',
    );
    const rows = (
      service
        ? this.db
            .prepare(
              'SELECT series_id, profile_id, labels, profile_types, start_ms, end_ms FROM series WHERE tenant = ? AND service_name = ? AND start_ms >= ? AND start_ms <= ? ORDER BY start_ms',
            )
            .all(tenant, service.value, startMs, endMs)
        : this.db
            .prepare(
              'SELECT series_id, profile_id, labels, profile_types, start_ms, end_ms FROM series WHERE tenant = ? AND start_ms >= ? AND start_ms <= ? ORDER BY start_ms',
            )
            .all(tenant, startMs, endMs)
    ) as Omit<Row, 'pprof' | 'stacks'>[];
    const out: StoredSeries[] = [];
    for (const r of rows) {
      const labels = JSON.parse(r.labels) as SeriesLabel[];
      const profileTypeIds = JSON.parse(r.profile_types) as string[];
      const candidates =
        profileTypeId === undefined
          ? profileTypeIds
          : profileTypeIds.filter((t) => t === profileTypeId);
      if (!candidates.some((t) => matches(storedLabelMap(labels, t), matchers))) continue;
      out.push({
        seriesId: r.series_id,
        profileId: r.profile_id ?? r.series_id,
        labels,
        profileTypeIds,
        startMs: r.start_ms,
        endMs: r.end_ms,
      });
    }
    return out;
  }

  /** The stored blobs of one series: gzip pprof and the compact form (null for old rows). */
  blobs(tenant: string, seriesId: string): { pprof: Buffer; stacks: Buffer | null } | undefined {
    return this.readBlobs.get(tenant, seriesId) as
      { pprof: Buffer; stacks: Buffer | null } | undefined;
  }

  /**
   * The profiles of one profile type matching a query, in their compact form (compact-profile.ts),
   * each with the value column the profile type names, one at a time: a caller that folds them (a
   * merge, a sum) holds one decoded profile, not all of them. The series are listed when the
   * iteration starts.
   */
  *selectProfiles(
    q: SelectQuery,
  ): Generator<{ series: StoredSeries; profile: CompactProfile; column: number }> {
    const pt = parseProfileTypeId(q.profileTypeId);
    const matchers = parseSelector(q.labelSelector);
    for (const series of this.select(q.tenant, matchers, q.startMs, q.endMs, q.profileTypeId)) {
      const profile = this.compactOf(q.tenant, series.seriesId);
      if (!profile) continue;
      const column = valueColumn(profile, pt.sampleType, pt.sampleUnit);
      if (column < 0) continue;
      yield { series, profile, column };
    }
  }

  /**
   * The compact form of one stored series; undefined when it is gone (retention ran meanwhile)
   * or unreadable (a query leaves such a row out rather than fail).
   */
  compactOf(tenant: string, seriesId: string): CompactProfile | undefined {
    const b = this.blobs(tenant, seriesId);
    if (!b) return undefined;
    try {
      return b.stacks ? decodeCompact(b.stacks) : compactProfile(decodePprof(gunzipSync(b.pprof)));
    } catch {
      return undefined;
    }
  }

  /** All series metadata of a tenant in a time range (for label and type listings). */
  listSeries(
    tenant: string,
    startMs: number,
    endMs: number,
    matchers: readonly Matcher[] = [],
  ): StoredSeries[] {
    return this.select(tenant, matchers, startMs, endMs);
  }

  /** Oldest and newest profile time (time_nanos) of a tenant (GetProfileStats); null when it has none. */
  timeRange(tenant: string): { oldestMs: number; newestMs: number } | null {
    const r = this.db
      .prepare(
        'SELECT MIN(start_ms) AS o, MAX(start_ms) AS n, COUNT(*) AS c FROM series WHERE tenant = ?',
      )
      .get(tenant) as { o: number | null; n: number | null; c: number };
    return r.c > 0 && r.o !== null && r.n !== null ? { oldestMs: r.o, newestMs: r.n } : null;
  }

  /** Bytes stored (compressed pprof), for retention checks and tests. */
  storedBytes(): number {
    return (
      this.db.prepare('SELECT COALESCE(SUM(size), 0) AS s FROM series').get() as { s: number }
    ).s;
  }

  countSeries(tenant?: string): number {
    const r = tenant
      ? (this.db.prepare('SELECT COUNT(*) AS n FROM series WHERE tenant = ?').get(tenant) as {
          n: number;
        })
      : (this.db.prepare('SELECT COUNT(*) AS n FROM series').get() as { n: number });
    return r.n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.checkpointer?.close();
    this.db.close();
  }
}
