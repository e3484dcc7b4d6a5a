import { Controller, Get, Inject, Optional, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SelectorError, type EmbeddedStore, type SpanStore } from '../../backends/index.js';
import { canonicalSpanId } from '../../model/index.js';
import { HttpFailure } from '../core/http-error.js';
import { EMBEDDED_STORE, SPAN_STORE } from '../core/tokens.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { QueryExecutor, type QueryTask } from './query-executor.js';
import {
  PROFILED_SPANS,
  TOP_SPANS,
  checkTopSpansArgs,
  runSpanQuery,
  spanQueryTask,
  type ProfiledSpansAnswer,
  type TopSpansAnswer,
} from './span-links.queries.js';

// The links between traces and profiles the web UI draws (docs/traces.md, "In the web UI"),
// Emberflow's own API beside Tempo's and Pyroscope's, tenant-scoped as they are:
//
//   GET /api/v1/traces/{id}/profiled-spans
//     which spans of one trace have a span profile: the span id labels samples (span_id) of a
//     profile stored around the trace, or the span names its profile (pyroscope.profile.id).
//     One answer per trace, never one request per span.
//   GET /api/v1/span-profiles?profileTypeID=&labelSelector=&start=&end=&limit=
//     the span ids with the most value in a selection (top `limit`, 50 by default, at most
//     1000), each joined with its span in the span store (trace id, name, duration).
//
// The span store is read here (indexed lookups by trace id and span id); the profile scans run
// on the query workers within the query budget, as every querier.v1 query does
// (span-links.queries.ts). A trace's profiles are those stored from PROFILE_WINDOW_MS before its
// first span to SKEW_MS after its last, a window of at most MAX_TRACE_WINDOW_MS.

/** Agents upload 10 s to 60 s profiles stamped with their start: a span's samples can be that old. */
export const PROFILE_WINDOW_MS = 60_000;
/** Clock skew between the traced process and the profiler. */
export const SKEW_MS = 15_000;
const MAX_TRACE_WINDOW_MS = 3600_000;
const PROFILE_ID_ATTRIBUTE = 'pyroscope.profile.id';

interface Query {
  [k: string]: string | undefined;
}

export interface ProfiledSpan {
  spanId: string;
  /** the id a span profile selects: the pyroscope.profile.id attribute when set, else the span id */
  profileId: string;
  /** how it is known to be profiled */
  via: 'span_id' | 'attribute';
  /** service_name of the profiles holding its samples (empty for an attribute not yet seen) */
  services: string[];
  /** profile types of the profiles holding its samples (empty likewise) */
  types: string[];
}

export interface SpanProfileEntry {
  spanId: string;
  value: number;
  /** the span as stored, null when the span store does not know it */
  span: {
    traceId: string;
    service: string;
    name: string;
    startMs: number;
    durationMs: number;
  } | null;
}

@Controller('api/v1')
export class SpanLinksController {
  constructor(
    @Optional() @Inject(EMBEDDED_STORE) private readonly store: EmbeddedStore | null,
    @Optional() @Inject(SPAN_STORE) private readonly spans: SpanStore | null,
    private readonly tenants: TenantResolver,
    @Optional() @Inject(QueryExecutor) private readonly executor: QueryExecutor | null = null,
  ) {}

  /** A span query's answer, from a worker (or inline without workers); errors as HttpFailure. */
  private async query<T>(store: EmbeddedStore, task: QueryTask): Promise<T> {
    const a = this.executor ? await this.executor.run(task) : runSpanQuery(store, task);
    const text = Buffer.from(a.body).toString('utf8');
    if (a.status !== 200) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new HttpFailure(a.status, message, 'query_failed', a.headers ?? {});
    }
    return JSON.parse(text) as T;
  }

  @Get('traces/:id/profiled-spans')
  profiled(@Param('id') rawId: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, async (tenant, store) => {
      if (!this.spans)
        throw new HttpFailure(404, 'the embedded span store is disabled', 'not_found');
      const id = rawId.trim().toLowerCase();
      if (!/^[0-9a-f]{1,32}$/.test(id))
        throw new HttpFailure(
          400,
          'invalid trace id: expected up to 32 hex digits',
          'invalid_param',
        );
      const traceId = id.padStart(32, '0');
      const rows = this.spans.traceSpans(tenant, traceId);
      if (rows.length === 0) throw new HttpFailure(404, `trace not found: ${traceId}`, 'not_found');
      let first = Infinity;
      let last = -Infinity;
      for (const r of rows) {
        const startMs = Number(BigInt(r.startUnixNano) / 1_000_000n);
        first = Math.min(first, startMs);
        last = Math.max(last, startMs + Math.ceil(r.durationNanos / 1e6));
      }
      const from = first - PROFILE_WINDOW_MS;
      const until = Math.min(last + SKEW_MS, from + MAX_TRACE_WINDOW_MS);
      const attr = (r: (typeof rows)[number]): string | undefined => {
        const v = r.spanAttributes[PROFILE_ID_ATTRIBUTE];
        return typeof v === 'string' ? canonicalSpanId(v) : undefined;
      };
      const ids = new Set<string>();
      for (const r of rows) {
        ids.add(r.spanId);
        const a = attr(r);
        if (a) ids.add(a);
      }
      const found = new Map(
        (
          await this.query<ProfiledSpansAnswer>(
            store,
            spanQueryTask(PROFILED_SPANS, tenant, {
              spanIds: [...ids],
              startMs: from,
              endMs: until,
            }),
          )
        ).found,
      );
      const out: ProfiledSpan[] = [];
      for (const r of rows) {
        const a = attr(r);
        if (a)
          out.push({
            spanId: r.spanId,
            profileId: a,
            via: 'attribute',
            services: found.get(a)?.services ?? [],
            types: found.get(a)?.types ?? [],
          });
        else if (found.has(r.spanId))
          out.push({
            spanId: r.spanId,
            profileId: r.spanId,
            via: 'span_id',
            services: found.get(r.spanId)!.services,
            types: found.get(r.spanId)!.types,
          });
      }
      await reply.status(200).send({ traceID: traceId, from, until, spans: out });
    });
  }

  @Get('span-profiles')
  spanProfiles(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    return this.run(req, reply, async (tenant, store) => {
      const q = req.query as Query;
      const profileTypeId = q.profileTypeID ?? '';
      const labelSelector = q.labelSelector || '{}';
      const start = Number(q.start);
      const end = Number(q.end);
      const limit = q.limit ? Number(q.limit) : 50;
      const args = { profileTypeId, labelSelector, startMs: start, endMs: end, limit };
      try {
        checkTopSpansArgs(args);
      } catch (err) {
        throw new HttpFailure(400, (err as Error).message, 'invalid_param');
      }
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start <= 0 || start > end)
        throw new HttpFailure(
          400,
          'start and end: milliseconds since the epoch, start ≤ end',
          'invalid_param',
        );
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)
        throw new HttpFailure(400, 'limit: 1 to 1000', 'invalid_param');
      const top = await this.query<TopSpansAnswer>(store, spanQueryTask(TOP_SPANS, tenant, args));
      const known = new Map(
        (
          this.spans?.spansById(
            tenant,
            top.spans.map((s) => s.spanId),
          ) ?? []
        ).map((r) => [r.spanId, r]),
      );
      const spans: SpanProfileEntry[] = top.spans.map(({ spanId, value }) => {
        const r = known.get(spanId);
        return {
          spanId,
          value,
          span: r
            ? {
                traceId: r.traceId,
                service: r.service,
                name: r.name,
                startMs: Number(BigInt(r.startUnixNano) / 1000n) / 1000,
                durationMs: r.durationNanos / 1e6,
              }
            : null,
        };
      });
      await reply.status(200).send({ spans, distinct: top.distinct, total: top.total, limit });
    });
  }

  private async run(
    req: FastifyRequest,
    reply: FastifyReply,
    fn: (tenant: string, store: EmbeddedStore) => Promise<void>,
  ): Promise<void> {
    try {
      const tenant = this.tenants.resolve(req.headers);
      if (!this.store)
        throw new HttpFailure(404, 'the embedded store is disabled in this process', 'not_found');
      await fn(tenant, this.store);
    } catch (err) {
      const f =
        err instanceof HttpFailure
          ? err
          : err instanceof SelectorError
            ? new HttpFailure(400, err.message, 'invalid_param')
            : new HttpFailure(500, `internal error: ${(err as Error).message}`, 'unknown');
      await reply.status(f.status).headers(f.headers).type('text/plain').send(f.message);
    }
  }
}
