import { Inject, Injectable, Logger } from '@nestjs/common';
import { keys, type SharedStore } from '../../cache/index.js';
import type { SeriesLabel } from '../../queue/index.js';
import { SHARED_STORE } from '../core/tokens.js';

// The fleet view: per tenant, what every agent (service × instance) last did. Each stage writes
// its own facet of an agent (ingest: `upload`, decoder: `decode`, exporter: `export`, any stage:
// `error`) as one field of the tenant's hash in the shared store, so writers never
// read-modify-write each other's data. Recording is best effort: a store hiccup is logged once
// per change of message and never fails the pipeline. Entries expire with the hash
// (FLEET_TTL_MS after the tenant's last write).

export const FLEET_TTL_MS = 7 * 24 * 3600 * 1000;
const SEP = '\u001f';

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
export class FleetRecorder {
  private readonly log = new Logger('Fleet');
  private lastError = '';

  constructor(@Inject(SHARED_STORE) private readonly store: SharedStore) {}

  uploadReceived(key: AgentKey, facet: UploadFacet): Promise<void> {
    return this.write(key.tenant, { [field(key, 'upload')]: JSON.stringify(facet) });
  }

  decoded(key: AgentKey, facet: DecodeFacet): Promise<void> {
    return this.write(key.tenant, { [field(key, 'decode')]: JSON.stringify(facet) });
  }

  /** Several agents of one tenant at once (one round trip). */
  exported(tenant: string, entries: { key: AgentKey; facet: ExportFacet }[]): Promise<void> {
    const fields: Record<string, string> = {};
    for (const e of entries)
      fields[field(e.key, `export:${e.facet.backend}`)] = JSON.stringify(e.facet);
    return this.write(tenant, fields);
  }

  failed(key: AgentKey, facet: ErrorFacet): Promise<void> {
    return this.write(key.tenant, {
      [field(key, 'error')]: JSON.stringify({ ...facet, message: facet.message.slice(0, 512) }),
    });
  }

  /** Every agent of a tenant, most recently active first. */
  async list(tenant: string): Promise<FleetAgent[]> {
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
