// The UI's data sources: Grafana Pyroscope's query API (querier.v1.QuerierService over
// Connect, unary, JSON or binary proto), Tempo's (/api/search, /api/traces), the fleet view
// (GET /api/v1/fleet) and the trace-to-profile links (/api/v1/traces/{id}/profiled-spans,
// /api/v1/span-profiles). The flame-graph views work against a real Pyroscope too; the links
// are Emberflow's own (a view degrades to no badges, no list, when they fail).
import type { ProfiledSpan } from './span-links';

export interface ProfileType {
  ID: string;
  name: string;
  sampleType: string;
  sampleUnit: string;
  periodType: string;
  periodUnit: string;
}

export interface LabelPair {
  name: string;
  value: string;
}

/** querier.v1.FlameGraph as protojson (int64 as strings). */
export interface FlamegraphJson {
  names: string[];
  levels: { values?: (string | number)[] }[];
  total: string | number;
  maxSelf: string | number;
}

/** querier.v1.FlameGraphDiff as protojson. */
export interface FlamegraphDiffJson extends FlamegraphJson {
  leftTicks: string | number;
  rightTicks: string | number;
}

export interface SeriesPoint {
  value: number;
  timestamp: string | number;
}

export interface Series {
  labels?: LabelPair[];
  points?: SeriesPoint[];
}

/** A stack-selecting query: what SelectMergeStacktraces, SelectMergeProfile and Diff share. */
export interface Selection {
  profileTypeID: string;
  labelSelector: string;
  /** milliseconds since the epoch */
  start: number;
  end: number;
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
  lastError: { at: number; stage: string; message: string } | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A trace found by /api/search (Tempo's API). */
export interface TraceHit {
  traceID: string;
  rootServiceName: string;
  rootTraceName: string;
  startTimeUnixNano: string;
  durationMs: number;
}

/** One span of a trace read through /api/traces/{id}, times in ms since the epoch. */
export interface TraceSpan {
  spanId: string;
  parentSpanId: string;
  name: string;
  service: string;
  startMs: number;
  durationMs: number;
  /** Status.StatusCode: 2 = error */
  status: number;
  attributes: Record<string, string>;
  /** the span's resource attributes (service.name, runtime_id, ...) */
  resource: Record<string, string>;
}

/** One span id of a selection with its value, and its span when the span store knows it. */
export interface SpanProfileEntry {
  spanId: string;
  value: number;
  span: {
    traceId: string;
    service: string;
    name: string;
    startMs: number;
    durationMs: number;
  } | null;
}

export interface Api {
  /** Tempo search: a TraceQL query over [start, end] (ms) */
  searchTraces(q: string, start: number, end: number, limit: number): Promise<TraceHit[]>;
  /** the spans of one trace, by start time */
  trace(traceId: string): Promise<TraceSpan[]>;
  /** the spans of a trace that have a span profile (Emberflow: GET /api/v1/traces/{id}/profiled-spans) */
  profiledSpans(traceId: string): Promise<ProfiledSpan[]>;
  /** the top span ids by value in a selection (Emberflow: GET /api/v1/span-profiles) */
  spanProfiles(
    q: Selection,
    limit: number,
  ): Promise<{ spans: SpanProfileEntry[]; distinct: number; limit: number }>;
  profileTypes(start: number, end: number): Promise<ProfileType[]>;
  labelNames(matchers: string[], start: number, end: number): Promise<string[]>;
  labelValues(name: string, matchers: string[], start: number, end: number): Promise<string[]>;
  selectSeries(q: Selection, stepSeconds: number): Promise<Series[]>;
  selectMergeStacktraces(q: Selection, maxNodes: number): Promise<FlamegraphJson>;
  selectMergeSpanProfile(
    q: Selection,
    spanSelector: string[],
    maxNodes: number,
  ): Promise<FlamegraphJson>;
  diff(left: Selection, right: Selection, maxNodes: number): Promise<FlamegraphDiffJson>;
  /** pprof bytes (google.v1.Profile, binary proto: the pprof encoding itself) */
  selectMergeProfile(q: Selection, maxNodes: number): Promise<Uint8Array>;
  fleet(): Promise<{ tenant: string; agents: FleetAgent[] }>;
}

const QUERIER = 'querier.v1.QuerierService';

/**
 * The query API of one tenant. `authorization` (a tenant's Basic or Bearer credential, from the
 * sign-in form) is sent with every request; it is held by the caller in memory only.
 */
export function createApi(tenant: string, baseUrl = '', authorization?: string): Api {
  const headers = (contentType: string): Record<string, string> => {
    const h: Record<string, string> = {
      'content-type': contentType,
      'connect-protocol-version': '1',
    };
    if (tenant.trim() !== '') h['x-scope-orgid'] = tenant.trim();
    if (authorization) h.authorization = authorization;
    return h;
  };

  async function failure(r: Response): Promise<ApiError> {
    const text = await r.text();
    let message = text || r.statusText;
    try {
      const body = JSON.parse(text) as { message?: string };
      if (body.message) message = body.message;
    } catch {
      // not JSON: keep the text
    }
    return new ApiError(r.status, `${r.status}: ${message}`);
  }

  async function call<T>(method: string, body: unknown): Promise<T> {
    const r = await fetch(`${baseUrl}/${QUERIER}/${method}`, {
      method: 'POST',
      headers: headers('application/json'),
      body: JSON.stringify(body),
    });
    if (!r.ok) throw await failure(r);
    return (await r.json()) as T;
  }

  return {
    async searchTraces(q, start, end, limit) {
      const p = new URLSearchParams({
        q,
        start: String(Math.floor(start / 1000)),
        end: String(Math.ceil(end / 1000)),
        limit: String(limit),
      });
      const r = await fetch(`${baseUrl}/api/search?${p}`, { headers: headers('application/json') });
      if (!r.ok) throw await failure(r);
      return ((await r.json()) as { traces?: TraceHit[] }).traces ?? [];
    },
    async trace(traceId) {
      const r = await fetch(`${baseUrl}/api/traces/${encodeURIComponent(traceId)}`, {
        headers: headers('application/json'),
      });
      if (!r.ok) throw await failure(r);
      return spansOfTrace((await r.json()) as OtlpTraceJson);
    },
    async profiledSpans(traceId) {
      const r = await fetch(
        `${baseUrl}/api/v1/traces/${encodeURIComponent(traceId)}/profiled-spans`,
        { headers: headers('application/json') },
      );
      if (!r.ok) throw await failure(r);
      return ((await r.json()) as { spans?: ProfiledSpan[] }).spans ?? [];
    },
    async spanProfiles(q, limit) {
      const p = new URLSearchParams({
        profileTypeID: q.profileTypeID,
        labelSelector: q.labelSelector,
        start: String(Math.floor(q.start)),
        end: String(Math.ceil(q.end)),
        limit: String(limit),
      });
      const r = await fetch(`${baseUrl}/api/v1/span-profiles?${p}`, {
        headers: headers('application/json'),
      });
      if (!r.ok) throw await failure(r);
      const body = (await r.json()) as { spans?: SpanProfileEntry[]; distinct?: number };
      return { spans: body.spans ?? [], distinct: body.distinct ?? 0, limit };
    },
    async profileTypes(start, end) {
      const r = await call<{ profileTypes?: ProfileType[] }>('ProfileTypes', { start, end });
      return r.profileTypes ?? [];
    },
    async labelNames(matchers, start, end) {
      const r = await call<{ names?: string[] }>('LabelNames', { matchers, start, end });
      return r.names ?? [];
    },
    async labelValues(name, matchers, start, end) {
      const r = await call<{ names?: string[] }>('LabelValues', { name, matchers, start, end });
      return r.names ?? [];
    },
    async selectSeries(q, stepSeconds) {
      const r = await call<{ series?: Series[] }>('SelectSeries', {
        ...q,
        step: stepSeconds,
        groupBy: [],
      });
      return r.series ?? [];
    },
    async selectMergeStacktraces(q, maxNodes) {
      const r = await call<{ flamegraph?: FlamegraphJson }>('SelectMergeStacktraces', {
        ...q,
        maxNodes,
        format: 'PROFILE_FORMAT_FLAMEGRAPH',
      });
      return r.flamegraph ?? emptyFlamegraph();
    },
    async selectMergeSpanProfile(q, spanSelector, maxNodes) {
      const r = await call<{ flamegraph?: FlamegraphJson }>('SelectMergeSpanProfile', {
        ...q,
        spanSelector,
        maxNodes,
        format: 'PROFILE_FORMAT_FLAMEGRAPH',
      });
      return r.flamegraph ?? emptyFlamegraph();
    },
    async diff(left, right, maxNodes) {
      const r = await call<{ flamegraph?: FlamegraphDiffJson }>('Diff', {
        left: { ...left, maxNodes },
        right: { ...right, maxNodes },
      });
      return r.flamegraph ?? { ...emptyFlamegraph(), leftTicks: 0, rightTicks: 0 };
    },
    async selectMergeProfile(q, maxNodes) {
      const r = await fetch(`${baseUrl}/${QUERIER}/SelectMergeProfile`, {
        method: 'POST',
        headers: headers('application/proto'),
        body: encodeSelectMergeProfileRequest(q, maxNodes),
      });
      if (!r.ok) throw await failure(r);
      return new Uint8Array(await r.arrayBuffer());
    },
    async fleet() {
      const r = await fetch(`${baseUrl}/api/v1/fleet`, { headers: headers('application/json') });
      if (!r.ok) throw await failure(r);
      const body = (await r.json()) as { tenant?: string; agents?: FleetAgent[] };
      return { tenant: body.tenant ?? tenant, agents: body.agents ?? [] };
    },
  };
}

function emptyFlamegraph(): FlamegraphJson {
  return { names: [], levels: [], total: 0, maxSelf: 0 };
}

/**
 * querier.v1.SelectMergeProfileRequest in binary proto (the answer comes back in the request's
 * encoding, and only the binary answer is a pprof file): profile_typeID = 1, label_selector = 2,
 * start = 3, end = 4, max_nodes = 5.
 */
export function encodeSelectMergeProfileRequest(
  q: Selection,
  maxNodes: number,
): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  const varint = (v: number): void => {
    let n = BigInt(Math.trunc(v));
    if (n < 0n) n += 1n << 64n;
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      out.push(b);
    } while (n > 0n);
  };
  const str = (field: number, s: string): void => {
    const bytes = new TextEncoder().encode(s);
    varint((field << 3) | 2);
    varint(bytes.length);
    for (const b of bytes) out.push(b);
  };
  const int = (field: number, v: number): void => {
    if (v === 0) return;
    varint(field << 3);
    varint(v);
  };
  str(1, q.profileTypeID);
  str(2, q.labelSelector);
  int(3, q.start);
  int(4, q.end);
  int(5, maxNodes);
  return new Uint8Array(out);
}

interface OtlpAttr {
  key: string;
  value?: Record<string, unknown>;
}

interface OtlpTraceJson {
  batches?: {
    resource?: { attributes?: OtlpAttr[] };
    scopeSpans?: {
      spans?: {
        spanId: string;
        parentSpanId?: string;
        name: string;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        status?: { code?: number | string };
        attributes?: OtlpAttr[];
      }[];
    }[];
  }[];
}

function attrText(a: OtlpAttr): string {
  const v = a.value ? Object.values(a.value)[0] : '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v ?? '');
}

/**
 * A trace or span id of Tempo's JSON (base64 of the id's bytes, as gogo jsonpb writes bytes)
 * as the hex the rest of the UI and the profiles' span_id labels use. Hex (OTLP/JSON's form) is
 * let through, so an id already in hex is not mangled.
 */
export function idToHex(id: string | undefined): string {
  if (!id) return '';
  if (/^(?:[0-9a-f]{16}|[0-9a-f]{32})$/i.test(id)) return id.toLowerCase();
  const bin = atob(id);
  let out = '';
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, '0');
  return out;
}

/** Status.StatusCode by name (jsonpb writes enums by name) or number: 2 = error. */
const STATUS_CODES: Record<string, number> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};
function statusCode(code: number | string | undefined): number {
  return typeof code === 'number' ? code : (STATUS_CODES[code ?? ''] ?? 0);
}

/** Flattens Tempo's JSON trace (tempopb.Trace, v1 `batches`) into spans sorted by start. */
export function spansOfTrace(t: OtlpTraceJson): TraceSpan[] {
  const out: TraceSpan[] = [];
  for (const b of t.batches ?? []) {
    const resource = Object.fromEntries(
      (b.resource?.attributes ?? []).map((a) => [a.key, attrText(a)]),
    );
    const service =
      (b.resource?.attributes ?? []).find((a) => a.key === 'service.name')?.value?.stringValue ??
      'unknown_service';
    for (const ss of b.scopeSpans ?? [])
      for (const s of ss.spans ?? []) {
        const start = Number(BigInt(s.startTimeUnixNano) / 1000n) / 1000;
        const end = Number(BigInt(s.endTimeUnixNano) / 1000n) / 1000;
        out.push({
          spanId: idToHex(s.spanId),
          parentSpanId: idToHex(s.parentSpanId),
          name: s.name,
          service: String(service),
          startMs: start,
          durationMs: Math.max(0, end - start),
          status: statusCode(s.status?.code),
          attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, attrText(a)])),
          resource,
        });
      }
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}
