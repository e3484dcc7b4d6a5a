import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { keys, type SharedStore } from '../../cache/index.js';
import type { SeriesLabel } from '../../queue/index.js';
import { SHARED_STORE } from '../core/tokens.js';

// The fleet view: per tenant, what every agent (service × instance) last did. Each stage writes
// its own facet of an agent (ingest: `upload`, decoder: `decode`, exporter: `export`, any stage:
// `error`) as one field of the tenant's hash in the shared store, so writers never
// read-modify-write each other's data. Recording is best effort: a store hiccup is logged once
// per change of message and never fails the pipeline. Entries expire with the hash
// (FLEET_TTL_MS after the tenant's last write).
//
// Cost: the upload, decode and export facets are written behind, coalesced per process: a field
// written again before the flush replaces the pending value, and every tenant's pending fields
// go to the store in one write at most FLUSH_MS later (or at once past MAX_PENDING fields). An
// agent uploading every 10 s costs one store write per flush, not one per upload and stage.
// Errors are written through at once. A listing in this process flushes first; another process
// sees a facet at most FLUSH_MS late.

export const FLEET_TTL_MS = 7 * 24 * 3600 * 1000;
const SEP = '\u001f';
/** longest a coalesced facet waits for its write */
const FLUSH_MS = 250;
/** pending fields (all tenants) past which the buffer is flushed at once */
const MAX_PENDING = 10_000;

/** The facets of this process waiting for their write, per tenant (one buffer per store). */
class WriteBehind {
  private pending = new Map<string, Map<string, string>>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];

  constructor(
    private readonly write: (tenant: string, fields: Record<string, string>) => Promise<void>,
  ) {}

  /** Resolves once these fields (or later values of them) are written. */
  add(tenant: string, fields: Record<string, string>): Promise<void> {
    let m = this.pending.get(tenant);
    if (!m) this.pending.set(tenant, (m = new Map()));
    for (const [f, v] of Object.entries(fields)) {
      if (!m.has(f)) this.count++;
      m.set(f, v);
    }
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.count >= MAX_PENDING) void this.flush();
    // not unref'd: a caller may be waiting for the write
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
    return done;
  }

  /** Writes everything pending (after any write in progress). Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    const waiters = this.waiters;
    this.pending = new Map();
    this.count = 0;
    this.waiters = [];
    this.flushing = this.flushing.then(async () => {
      for (const [tenant, m] of batch) await this.write(tenant, Object.fromEntries(m));
      for (const w of waiters) w();
    });
    return this.flushing;
  }
}

const buffers = new WeakMap<SharedStore, WriteBehind>();

/** `export:<backend>`: one field per backend, so backends never overwrite each other */
export type FleetFacet = 'upload' | 'decode' | `export:${string}` | 'error';

export interface UploadFacet {
  at: number;
  /** request body bytes as received */
  bytes: number;
  format?: string;
  spyName?: string;
  /** agent name and version from User-Agent ("pyroscope-java/0.14.0"), when present */
  agent?: string;
  agentVersion?: string;
}

export interface DecodeFacet {
  at: number;
  series: number;
  bytes: number;
}

export interface ExportFacet {
  at: number;
  series: number;
  bytes: number;
  backend: string;
  /** the last outcome at that backend */
  outcome: 'sent' | 'rejected' | 'retrying';
  spyName?: string;
}

export interface ErrorFacet {
  at: number;
  stage: 'ingest' | 'decoder' | 'exporter';
  message: string;
}

export interface AgentKey {
  tenant: string;
  service: string;
  instance: string;
}

export interface FleetAgent {
  service: string;
  instance: string;
  lastUploadAt: number | null;
  lastUploadBytes: number | null;
  agent: { spyName: string | null; name: string | null; version: string | null };
  lastDecodeAt: number | null;
  lastExportAt: number | null;
  lastExportBytes: number | null;
  backends: Record<string, string>;
  lastError: ErrorFacet | null;
}

/** Splits a User-Agent's first product token: "pyroscope-java/0.14.0 (...)" → name, version. */
export function parseUserAgent(ua: string | undefined): { name?: string; version?: string } {
  if (!ua) return {};
  const m = /^\s*([A-Za-z0-9._+-]+)(?:\/([A-Za-z0-9._+-]+))?/.exec(ua);
  if (!m) return {};
  return { name: m[1], version: m[2] };
}

/** The instance an agent reports itself as, from the usual labels; '' when none. */
export function instanceOf(labels: readonly SeriesLabel[]): string {
  for (const name of ['instance', 'hostname', 'host', 'pod', 'host_name', 'host.name']) {
    const v = labels.find((l) => l.name === name)?.value;
    if (v) return v;
  }
  return '';
}

export function serviceOf(labels: readonly SeriesLabel[]): string {
  return labels.find((l) => l.name === 'service_name')?.value ?? 'unknown_service';
}

export function spyOf(labels: readonly SeriesLabel[]): string | undefined {
  return labels.find((l) => l.name === 'pyroscope_spy' || l.name === 'spy_name')?.value;
}

@Injectable()
export class FleetRecorder implements OnModuleDestroy {
  private readonly log = new Logger('Fleet');
  private lastError = '';

  private readonly behind: WriteBehind;

  constructor(@Inject(SHARED_STORE) private readonly store: SharedStore) {
    let b = buffers.get(store);
    if (!b) buffers.set(store, (b = new WriteBehind((t, f) => this.write(t, f))));
    this.behind = b;
  }

  /** Resolves when the facet is in the store (callers on the hot path do not wait). */
  uploadReceived(key: AgentKey, facet: UploadFacet): Promise<void> {
    return this.behind.add(key.tenant, { [field(key, 'upload')]: JSON.stringify(facet) });
  }

  decoded(key: AgentKey, facet: DecodeFacet): Promise<void> {
    return this.behind.add(key.tenant, { [field(key, 'decode')]: JSON.stringify(facet) });
  }

  /** Several agents of one tenant at once. */
  exported(tenant: string, entries: { key: AgentKey; facet: ExportFacet }[]): Promise<void> {
    const fields: Record<string, string> = {};
    for (const e of entries)
      fields[field(e.key, `export:${e.facet.backend}`)] = JSON.stringify(e.facet);
    return this.behind.add(tenant, fields);
  }

  /** Writes the coalesced facets now (shutdown, listings). */
  flush(): Promise<void> {
    return this.behind.flush();
  }

  /** Shutdown: what is pending is written before the store closes. */
  onModuleDestroy(): Promise<void> {
    return this.flush();
  }

  failed(key: AgentKey, facet: ErrorFacet): Promise<void> {
    return this.write(key.tenant, {
      [field(key, 'error')]: JSON.stringify({ ...facet, message: facet.message.slice(0, 512) }),
    });
  }

  /** Every agent of a tenant, most recently active first. */
  async list(tenant: string): Promise<FleetAgent[]> {
    await this.behind.flush();
    const raw = await this.store.hashGetAll(keys.fleet(tenant));
    const agents = new Map<string, FleetAgent>();
    for (const [f, v] of Object.entries(raw)) {
      const [service, instance, facet] = f.split(SEP);
      if (facet === undefined) continue;
      const id = `${service}${SEP}${instance}`;
      let a = agents.get(id);
      if (!a) {
        a = {
          service,
          instance,
          lastUploadAt: null,
          lastUploadBytes: null,
          agent: { spyName: null, name: null, version: null },
          lastDecodeAt: null,
          lastExportAt: null,
          lastExportBytes: null,
          backends: {},
          lastError: null,
        };
        agents.set(id, a);
      }
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(v) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (facet === 'upload') {
        const u = value as unknown as UploadFacet;
        a.lastUploadAt = u.at;
        a.lastUploadBytes = u.bytes;
        a.agent.spyName = u.spyName ?? a.agent.spyName;
        a.agent.name = u.agent ?? null;
        a.agent.version = u.agentVersion ?? null;
      } else if (facet === 'decode') {
        a.lastDecodeAt = (value as unknown as DecodeFacet).at;
      } else if (facet.startsWith('export:')) {
        const e = value as unknown as ExportFacet;
        if (e.at >= (a.lastExportAt ?? 0)) {
          a.lastExportAt = e.at;
          a.lastExportBytes = e.bytes;
        }
        a.backends[e.backend] = e.outcome;
        a.agent.spyName ??= e.spyName ?? null;
      } else if (facet === 'error') {
        a.lastError = value as unknown as ErrorFacet;
      }
    }
    const last = (a: FleetAgent): number =>
      Math.max(a.lastUploadAt ?? 0, a.lastExportAt ?? 0, a.lastError?.at ?? 0);
    return [...agents.values()].sort(
      (x, y) =>
        last(y) - last(x) ||
        x.service.localeCompare(y.service) ||
        x.instance.localeCompare(y.instance),
    );
  }

  private async write(tenant: string, fields: Record<string, string>): Promise<void> {
    try {
      await this.store.hashSet(keys.fleet(tenant), fields, FLEET_TTL_MS);
      this.lastError = '';
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastError) this.log.warn(`fleet view not updated: ${msg}`);
      this.lastError = msg;
    }
  }
}

function field(key: AgentKey, facet: FleetFacet): string {
  return `${key.service}${SEP}${key.instance}${SEP}${facet}`;
}
