import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toBinary, toJson } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { INTRINSIC_TAGS, TraceQLError, type SpanStore } from '../../backends/index.js';
import { TracesDataSchema, assembleTraces, type AttributeScalar } from '../../protocol/index.js';
import { HttpFailure } from '../core/http-error.js';
import { SPAN_STORE } from '../core/tokens.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';

// Grafana Tempo's HTTP query API over the embedded span store, enough for Grafana's Tempo data
// source (docs/traces.md): echo and build info, trace by id (v1 and v2, in Tempo's JSON, or
// protobuf with Accept: application/protobuf), search (tags, min/maxDuration, start/end, limit, and the
// TraceQL subset of traceql.ts in q=), tag names and tag values (v1 and v2). Every read is scoped
// to the caller's tenant (X-Scope-OrgID + credentials, as uploads). Errors are plain text, as
// Tempo answers them.

const DAY_MS = 24 * 3600_000;

interface Query {
  [k: string]: string | undefined;
}

function hexTraceId(raw: string): string {
  const id = raw.trim().toLowerCase();
  if (!/^[0-9a-f]{1,32}$/.test(id))
    throw new HttpFailure(
      400,
      `invalid trace id ${JSON.stringify(raw.slice(0, 64))}: expected up to 32 hex digits`,
      'invalid_param',
    );
  // Tempo pads a short id (a 64-bit Jaeger id) with leading zeros
  return id.padStart(32, '0');
}

/** tempopb.Trace as proto3 JSON: `{"resourceSpans":[...]}`, omitted when empty. */
type TraceJson = { resourceSpans?: unknown[] };

/**
 * A trace by id as Tempo writes it in JSON (gogo jsonpb, default options: proto field names in
 * lowerCamelCase, zero values left out, 64-bit integers as strings, enums by name, and bytes,
 * trace and span ids included, in standard base64, not OTLP/JSON's hex):
 *   - v1 (`/api/traces/{id}`): tempopb.Trace with its first `"resourceSpans":` renamed
 *     `"batches":` (MarshalToJSONV1, pkg/tempopb/trace_utils.go);
 *   - v2 (`/api/v2/traces/{id}`): tempopb.TraceByIDResponse, `{"trace":{"resourceSpans":[...]},
 *     "metrics":{...}}`; status COMPLETE and an empty message are zero values, so absent
 *     (modules/frontend/combiner/trace_by_id_v2.go, common.go).
 * Returns the body text, so the bytes are what Tempo's would be for the same trace.
 */
export function tempoTraceJson(trace: TraceJson, version: 1 | 2, inspectedBytes: number): string {
  const t = trace.resourceSpans?.length ? { resourceSpans: trace.resourceSpans } : {};
  if (version === 1) return JSON.stringify(t).replace('"resourceSpans":', '"batches":');
  const metrics = inspectedBytes > 0 ? { inspectedBytes: String(inspectedBytes) } : {};
  return JSON.stringify({ trace: t, metrics });
}

/**
 * The same in protobuf (Accept: application/protobuf): v1 is tempopb.Trace, whose
 * `resourceSpans = 1` has TracesData's wire form; v2 is tempopb.TraceByIDResponse
 * `{ Trace trace = 1; TraceByIDMetrics metrics = 2; }` with `metrics.inspectedBytes = 1`.
 */
export function tempoTraceProto(
  trace: Uint8Array,
  version: 1 | 2,
  inspectedBytes: number,
): Uint8Array {
  if (version === 1) return trace;
  const metrics = new BinaryWriter();
  if (inspectedBytes > 0) metrics.uint32(8).uint64(inspectedBytes);
  return new BinaryWriter().uint32(10).bytes(trace).uint32(18).bytes(metrics.finish()).finish();
}

/** Go's time.ParseDuration for the forms Grafana sends (100ms, 1.5s, 1m30s); ns. */
export function parseGoDuration(raw: string, what: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1e6; // bare milliseconds
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const units: Record<string, number> = {
    ns: 1,
    us: 1e3,
    µs: 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
  };
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== s.length)
    throw new HttpFailure(
      400,
      `invalid ${what} ${JSON.stringify(s.slice(0, 40))}: use a duration like 100ms or 1.5s`,
      'invalid_param',
    );
  return total;
}

function unixSeconds(raw: string | undefined, what: string, fallbackMs: number): number {
  if (raw === undefined || raw === '') return fallbackMs;
  if (!/^\d{1,12}$/.test(raw.trim()))
    throw new HttpFailure(
      400,
      `invalid ${what} ${JSON.stringify(raw.slice(0, 40))}: expected unix seconds`,
      'invalid_param',
    );
  return Number(raw.trim()) * 1000;
}

/** logfmt as Tempo's tags= parameter takes it: `a=b c="d e"`. */
export function parseLogfmt(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\s*([^\s=]+)=("((?:[^"\\]|\\.)*)"|[^\s]*)/y;
  let i = 0;
  const s = raw.trim();
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m)
      throw new HttpFailure(
        400,
        `invalid tags ${JSON.stringify(s.slice(0, 80))}: use key=value pairs separated by spaces`,
        'invalid_param',
      );
    out[m[1]] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2];
    i = re.lastIndex;
    while (s[i] === ' ') i++;
  }
  return out;
}

function typeOf(v: AttributeScalar, keyword: boolean): string {
  if (keyword) return 'keyword';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  return 'string';
}

@Controller('api')
export class TempoController {
  constructor(
    @Inject(SPAN_STORE) private readonly spans: SpanStore | null,
    private readonly tenants: TenantResolver,
  ) {}

  @Get('echo')
  async echo(@Res() reply: FastifyReply): Promise<void> {
    await reply.status(200).type('text/plain').send('echo');
  }

  @Get('status/buildinfo')
  async buildInfo(@Res() reply: FastifyReply): Promise<void> {
    // Grafana reads the version to pick features; the API served is Tempo 2.x's subset
    await reply.status(200).send({
      version: '2.6.0',
      revision: 'emberflow',
      branch: 'emberflow',
      buildUser: '',
      buildDate: '',
      goVersion: '',
    });
  }

  @Get('traces/:id')
  traceV1(@Param('id') id: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, (tenant, store) => this.trace(tenant, store, id, req, reply, 1));
  }

  @Get('v2/traces/:id')
  traceV2(@Param('id') id: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, (tenant, store) => this.trace(tenant, store, id, req, reply, 2));
  }

  @Get('search')
  search(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, async (tenant, store) => {
      const q = req.query as Query;
      const now = Date.now();
      const limit = q.limit ? Number(q.limit) : 20;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
        throw new HttpFailure(
          400,
          `invalid limit ${JSON.stringify(q.limit)}: 1 to 10000`,
          'invalid_param',
        );
      const spss = q.spss ? Number(q.spss) : 3;
      let traces;
      try {
        traces = store.search({
          tenant,
          q: q.q ?? '',
          tags: q.tags ? parseLogfmt(q.tags) : {},
          minDurationNanos: q.minDuration
            ? parseGoDuration(q.minDuration, 'minDuration')
            : undefined,
          maxDurationNanos: q.maxDuration
            ? parseGoDuration(q.maxDuration, 'maxDuration')
            : undefined,
          startMs: unixSeconds(q.start, 'start', 0),
          endMs: unixSeconds(q.end, 'end', now + DAY_MS),
          limit,
          spansPerSpanSet: Number.isSafeInteger(spss) && spss > 0 ? spss : 3,
        });
      } catch (err) {
        if (err instanceof TraceQLError)
          throw new HttpFailure(400, `invalid TraceQL query: ${err.message}`, 'invalid_param');
        throw err;
      }
      await reply.status(200).send({
        traces: traces.map((t) => ({ ...t, spanSets: [t.spanSet] })),
        metrics: { inspectedTraces: traces.length, completedJobs: 1, totalJobs: 1 },
      });
    });
  }

  @Get('search/tags')
  tagsV1(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, async (tenant, store) => {
      const { start, end } = this.range(req);
      const t = store.tagNames(tenant, start, end);
      const names = [...new Set([...t.span, ...t.resource])].sort();
      await reply.status(200).send({ tagNames: names });
    });
  }

  @Get('v2/search/tags')
  tagsV2(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, async (tenant, store) => {
      const { start, end } = this.range(req);
      const scope = (req.query as Query).scope ?? '';
      const t = store.tagNames(tenant, start, end);
      const scopes = [
        { name: 'resource', tags: t.resource },
        { name: 'span', tags: t.span },
        { name: 'intrinsic', tags: [...INTRINSIC_TAGS] },
      ].filter((s) => scope === '' || scope === 'all' || s.name === scope);
      await reply.status(200).send({ scopes });
    });
  }

  @Get('search/tag/:tag/values')
  valuesV1(@Param('tag') tag: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, async (tenant, store) => {
      const { start, end } = this.range(req);
      const values = store.tagValues(tenant, tag, start, end);
      await reply.status(200).send({ tagValues: values.map(String) });
    });
  }

  @Get('v2/search/tag/:tag/values')
  valuesV2(@Param('tag') tag: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, async (tenant, store) => {
      const { start, end } = this.range(req);
      const keyword = tag === 'status' || tag === 'kind';
      const values = store.tagValues(tenant, tag, start, end);
      await reply
        .status(200)
        .send({ tagValues: values.map((v) => ({ type: typeOf(v, keyword), value: String(v) })) });
    });
  }

  private range(req: FastifyRequest): { start: number; end: number } {
    const q = req.query as Query;
    return {
      start: unixSeconds(q.start, 'start', 0),
      end: unixSeconds(q.end, 'end', Date.now() + DAY_MS),
    };
  }

  private async trace(
    tenant: string,
    store: SpanStore,
    rawId: string,
    req: FastifyRequest,
    reply: FastifyReply,
    version: 1 | 2,
  ): Promise<void> {
    const id = hexTraceId(rawId);
    const blobs = store.traceBlobs(tenant, id);
    if (blobs.length === 0) throw new HttpFailure(404, `trace not found: ${id}`, 'not_found');
    const data = assembleTraces(blobs);
    // tempopb.TraceByIDMetrics.inspectedBytes: what was read to assemble the trace
    const inspectedBytes = blobs.reduce(
      (n, b) => n + b.resource.length + b.scope.length + b.span.length,
      0,
    );
    const accept = String(req.headers.accept ?? '').toLowerCase();
    if (accept.includes('application/protobuf')) {
      const body = tempoTraceProto(toBinary(TracesDataSchema, data), version, inspectedBytes);
      await reply.status(200).type('application/protobuf').send(Buffer.from(body));
      return;
    }
    const json = tempoTraceJson(
      toJson(TracesDataSchema, data) as TraceJson,
      version,
      inspectedBytes,
    );
    // exactly Tempo's Content-Type (Fastify's type() would add "; charset=utf-8")
    await reply.status(200).header('content-type', 'application/json').send(Buffer.from(json));
  }

  private async run(
    req: FastifyRequest,
    reply: FastifyReply,
    fn: (tenant: string, store: SpanStore) => Promise<void>,
  ): Promise<void> {
    try {
      const tenant = this.tenants.resolve(req.headers);
      if (!this.spans)
        throw new HttpFailure(
          404,
          'the embedded span store is disabled (backends.embedded.enabled: false): traces are only forwarded',
          'not_found',
        );
      await fn(tenant, this.spans);
    } catch (err) {
      const f =
        err instanceof HttpFailure
          ? err
          : new HttpFailure(500, `internal error: ${(err as Error).message}`, 'unknown');
      await reply.status(f.status).headers(f.headers).type('text/plain').send(f.message);
    }
  }
}
