import type { RawProfileSeries } from '../../protocol/index.js';
import type { NormalizedSeries } from '../../queue/index.js';
import type { Backend } from '../backend.port.js';
import type { SendingOverrides } from '../sending/sending-chain.js';
import { pushSeries, sampleIdFor } from './push-client.js';

// A Grafana Pyroscope server (or anything speaking its Push API) as a backend. One instance per
// endpoint: dual shipping is two instances with distinct names, hence distinct delivered-ids.
// Each normalised series becomes one RawProfileSeries with one RawSample (the pprof as is), so
// Pyroscope applies the same rules to it as to an agent's Push; the parts of a split series in
// one request share a RawProfileSeries, a RawSample each (toRawSeriesList).
//
// Requests never mix tenants (each carries its X-Scope-OrgID) and stay under maxRequestBytes
// (proto size before gzip); a batch larger than that is split into several requests. Series of a
// request that was acknowledged are remembered for the life of the series objects, so when a
// later request of the same send fails and the chain retries, they are not pushed twice.

export type PyroscopeAuth =
  { basic: { username: string; password: string } } | { bearer: string } | null;

export interface PyroscopeBackendSettings {
  /** unique among backends: part of delivered-id keys and metric labels */
  name: string;
  /** base URL, e.g. http://pyroscope:4040 (a path prefix is kept) */
  url: string;
  /**
   * Emberflow tenant → X-Scope-OrgID sent. `*` applies to tenants not listed; a tenant not
   * mapped at all is sent as itself; an empty value sends no header.
   */
  tenantOrgIds: Record<string, string>;
  auth: PyroscopeAuth;
  /** extra headers on every request (after ours, so they cannot replace content headers) */
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  /** upper bound of one request's proto size, bytes */
  maxRequestBytes: number;
  sending?: SendingOverrides;
}

const PER_SERIES_OVERHEAD = 64;

export class PyroscopeBackend implements Backend {
  readonly name: string;
  readonly sending?: SendingOverrides;
  private readonly acked = new WeakSet<NormalizedSeries>();
  private readonly baseHeaders: Record<string, string>;

  constructor(private readonly settings: PyroscopeBackendSettings) {
    this.name = settings.name;
    this.sending = settings.sending;
    const h: Record<string, string> = { 'user-agent': 'emberflow/0.1.0' };
    for (const [k, v] of Object.entries(settings.headers)) h[k.toLowerCase()] = v;
    const a = settings.auth;
    if (a && 'bearer' in a) h.authorization = `Bearer ${a.bearer}`;
    else if (a && 'basic' in a) {
      h.authorization = `Basic ${Buffer.from(`${a.basic.username}:${a.basic.password}`).toString('base64')}`;
    }
    this.baseHeaders = h;
  }

  /** The X-Scope-OrgID for an Emberflow tenant ('' = none). */
  orgIdFor(tenant: string): string {
    const m = this.settings.tenantOrgIds;
    if (Object.hasOwn(m, tenant)) return m[tenant];
    if (Object.hasOwn(m, '*')) return m['*'];
    return tenant;
  }

  async send(
    series: readonly NormalizedSeries[],
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const byTenant = new Map<string, NormalizedSeries[]>();
    for (const s of series) {
      if (this.acked.has(s)) continue;
      let list = byTenant.get(s.tenant);
      if (!list) byTenant.set(s.tenant, (list = []));
      list.push(s);
    }
    for (const [tenant, list] of byTenant) {
      for (const chunk of this.split(list)) {
        const headers = { ...this.baseHeaders };
        const org = this.orgIdFor(tenant);
        if (org !== '') headers['x-scope-orgid'] = org;
        await pushSeries(toRawSeriesList(chunk), {
          url: this.settings.url,
          headers,
          compression: this.settings.compression,
          signal: options.signal,
        });
        for (const s of chunk) this.acked.add(s);
      }
    }
  }

  async close(): Promise<void> {}

  private split(list: NormalizedSeries[]): NormalizedSeries[][] {
    const out: NormalizedSeries[][] = [];
    let cur: NormalizedSeries[] = [];
    let size = 0;
    for (const s of list) {
      const n =
        s.pprof.length +
        PER_SERIES_OVERHEAD +
        s.labels.reduce((a, l) => a + l.name.length + l.value.length + 4, 0);
      if (cur.length > 0 && size + n > this.settings.maxRequestBytes) {
        out.push(cur);
        cur = [];
        size = 0;
      }
      cur.push(s);
      size += n;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }
}

/**
 * The request's series: one RawProfileSeries per series, except that the parts of a split
 * series that travel in the same request become one RawProfileSeries with a RawSample per part
 * (one profile's samples, as an agent would push them). Order is kept.
 */
export function toRawSeriesList(list: readonly NormalizedSeries[]): RawProfileSeries[] {
  const out: RawProfileSeries[] = [];
  const byProfile = new Map<string, RawProfileSeries>();
  for (const s of list) {
    const key = s.part ? `${s.tenant}\u0000${s.profileId ?? s.seriesId}` : undefined;
    const existing = key ? byProfile.get(key) : undefined;
    if (existing) {
      existing.samples.push({ rawProfile: s.pprof, id: sampleIdFor(s.tenant, s.seriesId) });
      continue;
    }
    const raw = toRawSeries(s);
    if (key) byProfile.set(key, raw);
    out.push(raw);
  }
  return out;
}

export function toRawSeries(s: NormalizedSeries): RawProfileSeries {
  return {
    labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
    samples: [{ rawProfile: s.pprof, id: sampleIdFor(s.tenant, s.seriesId) }],
    annotations: [],
  };
}
