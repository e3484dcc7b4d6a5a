import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EmbeddedStore } from '../../backends/embedded-store/embedded-store.js';
import { SelectorError, parseSelector } from '../../backends/embedded-store/label-selector.js';
import { addProfile, newTree, toFlamegraph } from '../../backends/embedded-store/stack-tree.js';
import { HttpFailure, errorBody } from '../core/http-error.js';
import { EMBEDDED_STORE } from '../core/tokens.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';

// Grafana Pyroscope's query API (querier.v1.QuerierService) over the embedded store, in the
// Connect protocol's JSON form: POST /querier.v1.QuerierService/<Method> with a JSON body,
// int64 fields rendered as strings (proto3 JSON). Reads are scoped to the caller's tenant by
// the same resolution and credentials as ingest.

interface TimeRange {
  start?: string | number;
  end?: string | number;
}

const HOUR = 3600_000;

@Controller('querier.v1.QuerierService')
export class QueryController {
  constructor(
    @Inject(EMBEDDED_STORE) private readonly store: EmbeddedStore,
    private readonly tenants: TenantResolver,
  ) {}

  @Post('SelectMergeStacktraces')
  @HttpCode(200)
  async selectMergeStacktraces(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ): Promise<unknown> {
    return this.answer(reply, () => {
      const tenant = this.tenants.resolve(req.headers);
      const q = parseJson<
        { profileTypeID?: string; labelSelector?: string; maxNodes?: string | number } & TimeRange
      >(body);
      if (!q.profileTypeID)
        throw new HttpFailure(400, 'profileTypeID is required', 'invalid_param');
      const { start, end } = range(q);
      const tree = newTree();
      let picked;
      try {
        picked = this.store.selectProfiles({
          tenant,
          profileTypeId: q.profileTypeID,
          labelSelector: q.labelSelector ?? '{}',
          startMs: start,
          endMs: end,
        });
      } catch (err) {
        throw new HttpFailure(400, (err as Error).message, 'invalid_param');
      }
      for (const { profile, valueIndex } of picked) addProfile(tree, profile, valueIndex);
      const fg = toFlamegraph(tree, Number(q.maxNodes ?? 0) || 0);
      return {
        flamegraph: {
          names: fg.names,
          levels: fg.levels.map((values) => ({ values: values.map(String) })),
          total: String(fg.total),
          maxSelf: String(fg.maxSelf),
        },
      };
    });
  }

  @Post('ProfileTypes')
  @HttpCode(200)
  async profileTypes(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ): Promise<unknown> {
    return this.answer(reply, () => {
      const tenant = this.tenants.resolve(req.headers);
      const { start, end } = range(parseJson<TimeRange>(body));
      const ids = new Set<string>();
      for (const s of this.store.listSeries(tenant, start, end))
        s.profileTypeIds.forEach((t) => ids.add(t));
      return {
        profileTypes: [...ids].sort().map((id) => {
          const [name, sampleType, sampleUnit, periodType, periodUnit] = id.split(':');
          return { ID: id, name, sampleType, sampleUnit, periodType, periodUnit };
        }),
      };
    });
  }

  @Post('LabelNames')
  @HttpCode(200)
  async labelNames(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ): Promise<unknown> {
    return this.answer(reply, () => {
      const tenant = this.tenants.resolve(req.headers);
      const q = parseJson<{ matchers?: string[] } & TimeRange>(body);
      const names = new Set<string>(['__profile_type__']);
      for (const s of this.listMatching(tenant, q)) s.labels.forEach((l) => names.add(l.name));
      return { names: [...names].sort() };
    });
  }

  @Post('LabelValues')
  @HttpCode(200)
  async labelValues(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
  ): Promise<unknown> {
    return this.answer(reply, () => {
      const tenant = this.tenants.resolve(req.headers);
      const q = parseJson<{ name?: string; matchers?: string[] } & TimeRange>(body);
      if (!q.name) throw new HttpFailure(400, 'name is required', 'invalid_param');
      const values = new Set<string>();
      for (const s of this.listMatching(tenant, q)) {
        if (q.name === '__profile_type__') s.profileTypeIds.forEach((t) => values.add(t));
        for (const l of s.labels) if (l.name === q.name) values.add(l.value);
      }
      return { names: [...values].sort() };
    });
  }

  private listMatching(tenant: string, q: { matchers?: string[] } & TimeRange) {
    const { start, end } = range(q);
    const selectors = q.matchers && q.matchers.length > 0 ? q.matchers : ['{}'];
    const seen = new Map<string, ReturnType<EmbeddedStore['listSeries']>[number]>();
    for (const sel of selectors) {
      let matchers;
      try {
        matchers = parseSelector(sel);
      } catch (err) {
        throw new HttpFailure(400, (err as SelectorError).message, 'invalid_param');
      }
      for (const s of this.store.listSeries(tenant, start, end, matchers)) seen.set(s.seriesId, s);
    }
    return [...seen.values()];
  }

  private async answer(reply: FastifyReply, fn: () => unknown): Promise<unknown> {
    try {
      return fn();
    } catch (err) {
      const f =
        err instanceof HttpFailure ? err : new HttpFailure(500, (err as Error).message, 'unknown');
      reply.status(f.status).headers(f.headers);
      return errorBody(f.status, f.message, f.code);
    }
  }
}

function parseJson<T>(body: unknown): T {
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) return {} as T;
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (err) {
      throw new HttpFailure(
        400,
        `request body is not valid JSON: ${(err as Error).message}`,
        'invalid_param',
      );
    }
  }
  return (body ?? {}) as T;
}

function range(q: TimeRange): { start: number; end: number } {
  const now = Date.now();
  const end = q.end !== undefined ? Number(q.end) : now;
  const start = q.start !== undefined ? Number(q.start) : end - HOUR;
  if (!Number.isFinite(start) || !Number.isFinite(end) || start > end) {
    throw new HttpFailure(
      400,
      'start and end must be milliseconds since the epoch, start <= end',
      'invalid_param',
    );
  }
  return { start, end };
}
