import { Controller, HttpCode, Inject, Optional, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { gunzipSync } from 'node:zlib';
import {
  type EmbeddedStore,
  type SelectQuery,
  parseProfileTypeId,
  SelectorError,
  parseSelector,
  type Matcher,
  diff,
  selectMergeProfile,
  selectMergeStacktraces,
  selectSeries,
  selectHeatmap,
  seriesLabelSets,
  newTree,
  toFlamegraph,
} from '../../backends/index.js';
import { SpanSelectorError, parseSpanSelector } from '../../model/index.js';
import { encodePprof } from '../../model/pprof/index.js';
import {
  MAX_JSON_DEPTH,
  MediaTypeError,
  isLegacyLabelName,
  jsonTooDeepAt,
  parseClientCapabilities,
  type ClientCapabilities,
} from '../../protocol/index.js';
import { HttpFailure, errorBody } from '../core/http-error.js';
import { EMBEDDED_STORE } from '../core/tokens.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import {
  ProtoDecodeError,
  decodeProto,
  fromJson,
  type Decoded,
  type MessageSpec,
} from './proto-wire.js';
import * as M from './querier-messages.js';
import { isSpanQuery, runSpanQuery } from './span-links.queries.js';
import {
  QueryExecutor,
  type Encoding,
  type QueryAnswer,
  type QueryTask,
} from './query-executor.js';

// Grafana Pyroscope's query API (querier.v1.QuerierService) over the embedded store, in the
// Connect protocol (unary): POST /querier.v1.QuerierService/<Method> with a binary proto body
// (`application/proto`, what Grafana's data source and connect-go clients send) or a JSON body
// (`application/json`, int64 as strings), optionally gzip-compressed; the answer uses the
// request's encoding. Errors are Connect's JSON `{code, message}` with the matching status.
// Every read is scoped to the caller's tenant (TenantResolver: X-Scope-OrgID + credentials).

const HOUR = 3600_000;

interface Method {
  spec: MessageSpec;
  run(q: Decoded, tenant: string, store: EmbeddedStore, task: QueryTask): M.Answer;
}

@Controller('querier.v1.QuerierService')
export class QueryController {
  private readonly methods: Record<string, Method> = {
    ProfileTypes: { spec: M.ProfileTypesRequest, run: (q, t, st) => this.profileTypes(q, t, st) },
    LabelNames: {
      spec: M.LabelNamesRequest,
      run: (q, t, st, task) => this.labelNames(q, t, st, task),
    },
    LabelValues: { spec: M.LabelValuesRequest, run: (q, t, st) => this.labelValues(q, t, st) },
    Series: { spec: M.SeriesRequest, run: (q, t, st, task) => this.series(q, t, st, task) },
    SelectMergeStacktraces: {
      spec: M.SelectMergeStacktracesRequest,
      run: (q, t, st) => {
        checkFormat(q);
        return M.flamegraphResponse(selectMergeStacktraces(st, selectQuery(q, t), maxNodes(q)));
      },
    },
    SelectMergeSpanProfile: {
      spec: M.SelectMergeSpanProfileRequest,
      run: (q, t, st) => {
        checkFormat(q);
        const spans = q.spanSelector as string[];
        // an empty span list selects nothing (Pyroscope: no span, no samples)
        const sq = selectQuery(q, t);
        if (spans.length === 0) return M.flamegraphResponse(toFlamegraph(newTree()));
        return M.flamegraphResponse(selectMergeStacktraces(st, sq, maxNodes(q)));
      },
    },
    SelectMergeProfile: {
      spec: M.SelectMergeProfileRequest,
      run: (q, t, st) =>
        M.pprofResponse(selectMergeProfile(st, selectQuery(q, t), num(q.maxNodes)), encodePprof),
    },
    SelectSeries: {
      spec: M.SelectSeriesRequest,
      run: (q, t, st) =>
        M.selectSeriesResponse(
          selectSeries(st, selectQuery(q, t), {
            groupBy: q.groupBy as string[],
            stepSeconds: num(q.step),
            aggregation: num(q.aggregation) === 1 ? 'average' : 'sum',
            limit: num(q.limit),
          }),
        ),
    },
    Diff: {
      spec: M.DiffRequest,
      run: (q, t, st) => {
        if (!q.left || !q.right) throw invalid('left and right are required');
        const left = q.left as Decoded;
        const right = q.right as Decoded;
        return M.diffResponse(
          diff(
            st,
            selectQuery(left, t),
            selectQuery(right, t),
            Math.max(maxNodes(left), maxNodes(right)),
          ),
        );
      },
    },
    SelectHeatmap: {
      spec: M.SelectHeatmapRequest,
      run: (q, t, st) =>
        M.heatmapResponse(
          selectHeatmap(st, selectQuery(q, t), {
            groupBy: q.groupBy as string[],
            stepSeconds: num(q.step),
            limit: num(q.limit),
            perSpan: num(q.queryType) === 2,
          }),
        ),
    },
    GetProfileStats: {
      spec: M.GetProfileStatsRequest,
      run: (_q, t, st) => M.profileStatsResponse(st.timeRange(t)),
    },
  };

  constructor(
    @Optional() @Inject(EMBEDDED_STORE) private readonly store: EmbeddedStore | null,
    private readonly tenants: TenantResolver,
    @Optional() @Inject(QueryExecutor) private readonly executor: QueryExecutor | null = null,
  ) {}

  @Post(':method')
  @HttpCode(200)
  async call(
    @Param('method') name: string,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    let answer: QueryAnswer;
    try {
      if (!Object.hasOwn(this.methods, name))
        throw new HttpFailure(
          404,
          `unknown method querier.v1.QuerierService/${name}`,
          'unimplemented',
          {},
          'unimplemented',
        );
      const encoding = encodingOf(req.headers['content-type']);
      const tenant = this.tenants.resolve(req.headers);
      if (!this.store) {
        throw new HttpFailure(
          404,
          'the embedded store is disabled in this process (backends.embedded.enabled): query the process that hosts it',
          'unimplemented',
          {},
          'unimplemented',
        );
      }
      const ce = req.headers['content-encoding'];
      const task: QueryTask = {
        method: name,
        tenant,
        encoding,
        contentEncoding: Array.isArray(ce) ? ce[0] : ce,
        body: bodyOf(req),
        utf8LabelNames: capabilitiesOf(req.headers.accept).allowUtf8LabelNames,
      };
      // off the event loop with a time budget (query-executor.ts), or here when so configured;
      // a malformed request is answered first, never queued behind heavy queries
      answer =
        (this.executor ? this.malformed(task) : undefined) ??
        (this.executor ? await this.executor.run(task) : this.execute(this.store, task));
    } catch (err) {
      answer = failureAnswer(err);
    }
    reply
      .status(answer.status)
      .headers(answer.headers ?? {})
      .header('content-type', answer.contentType);
    return Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength);
  }

  /**
   * The request's own errors, answered before it waits for a query worker: a body that does not
   * decode, a label selector, matcher or profile type that does not parse (400, as the method
   * itself answers them). A malformed query queued behind heavy ones waited out the query budget
   * and got 503 instead of its 400 (adversarial probe). Undefined when these parse; the method
   * checks the rest when it runs. A compressed body, or one over PRECHECK_MAX_BYTES, is left to
   * the worker: their inflate and parse are not for the event loop (a 300 KB selector of 20,000
   * regex matchers parses in about 25 ms).
   */
  private malformed(task: QueryTask): QueryAnswer | undefined {
    if (isSpanQuery(task.method) || !Object.hasOwn(this.methods, task.method)) return undefined;
    if (task.contentEncoding || task.body.byteLength > PRECHECK_MAX_BYTES) return undefined;
    try {
      const body = Buffer.from(task.body.buffer, task.body.byteOffset, task.body.byteLength);
      const q = decodeBody(this.methods[task.method].spec, body, task.encoding, undefined);
      if (typeof q.labelSelector === 'string' && q.labelSelector !== '')
        parseSelector(q.labelSelector);
      if (Array.isArray(q.matchers)) selectors(q);
      if (typeof q.profileTypeID === 'string' && q.profileTypeID !== '') {
        try {
          parseProfileTypeId(q.profileTypeID);
        } catch (err) {
          throw invalid((err as Error).message);
        }
      }
      return undefined;
    } catch (err) {
      return failureAnswer(err);
    }
  }

  /**
   * Runs one query method over a store and renders its answer (or its error) in the request's
   * encoding. Pure of HTTP: the query worker calls it too. Never throws.
   */
  execute(store: EmbeddedStore, task: QueryTask): QueryAnswer {
    // the span links' profile scans (span-links.queries.ts) share the workers and the budget
    if (isSpanQuery(task.method)) return runSpanQuery(store, task);
    try {
      const method = Object.hasOwn(this.methods, task.method)
        ? this.methods[task.method]
        : undefined;
      if (!method)
        throw new HttpFailure(
          404,
          `unknown method ${task.method}`,
          'unimplemented',
          {},
          'unimplemented',
        );
      const body = Buffer.from(task.body.buffer, task.body.byteOffset, task.body.byteLength);
      const q = decodeBody(method.spec, body, task.encoding, task.contentEncoding);
      const answer = method.run(q, task.tenant, store, task);
      if (task.encoding === 'proto')
        return { status: 200, contentType: 'application/proto', body: answer.proto() };
      return {
        status: 200,
        contentType: 'application/json',
        body: Buffer.from(JSON.stringify(answer.json())),
      };
    } catch (err) {
      return failureAnswer(err);
    }
  }

  private profileTypes(q: Decoded, tenant: string, store: EmbeddedStore): M.Answer {
    const { start, end } = range(q, true);
    const ids = new Set<string>();
    for (const s of store.listSeries(tenant, start, end))
      s.profileTypeIds.forEach((t) => ids.add(t));
    return M.profileTypesResponse(
      [...ids].sort().map((id) => {
        const p = parseProfileTypeId(id);
        return {
          ID: id,
          name: p.name,
          sampleType: p.sampleType,
          sampleUnit: p.sampleUnit,
          periodType: p.periodType,
          periodUnit: p.periodUnit,
        };
      }),
    );
  }

  private labelNames(q: Decoded, tenant: string, store: EmbeddedStore, task: QueryTask): M.Answer {
    const { start, end } = range(q, true);
    const names = new Set<string>();
    const hide = hiddenNames(task);
    for (const set of seriesLabelSets(store, tenant, selectors(q), [], start, end, hide)) {
      for (const l of set) names.add(l.name);
    }
    return M.namesResponse([...names].sort());
  }

  private labelValues(q: Decoded, tenant: string, store: EmbeddedStore): M.Answer {
    const name = q.name as string;
    if (!name) throw invalid('name is required');
    const { start, end } = range(q, true);
    const values = new Set<string>();
    for (const set of seriesLabelSets(store, tenant, selectors(q), [name], start, end)) {
      for (const l of set) if (l.value !== '') values.add(l.value);
    }
    return M.namesResponse([...values].sort());
  }

  private series(q: Decoded, tenant: string, store: EmbeddedStore, task: QueryTask): M.Answer {
    const { start, end } = range(q, true);
    return M.seriesResponse(
      seriesLabelSets(
        store,
        tenant,
        selectors(q),
        q.labelNames as string[],
        start,
        end,
        hiddenNames(task),
      ),
    );
  }
}

/**
 * Label names LabelNames and Series leave out: without `allow-utf8-labelnames=true` in Accept,
 * every name outside the legacy charset, as Pyroscope's query frontend does
 * (`pkg/frontend/readpath/queryfrontend/query_label_names.go`, `query_series_labels.go`).
 * The labels stay stored and matchable either way.
 */
function hiddenNames(task: QueryTask): (name: string) => boolean {
  return task.utf8LabelNames ? () => false : (name) => !isLegacyLabelName(name);
}

/** Accept's capabilities; a header that does not parse is 400, as Pyroscope's middleware. */
function capabilitiesOf(accept: string | string[] | undefined): ClientCapabilities {
  try {
    return parseClientCapabilities(accept);
  } catch (err) {
    if (err instanceof MediaTypeError)
      throw new HttpFailure(
        400,
        `Invalid header format: ${err.message}`,
        'invalid_param',
        {},
        'invalid_argument',
      );
    throw err;
  }
}

/** An error as a Connect JSON answer: client errors 4xx, anything unforeseen 500. */
function failureAnswer(err: unknown): QueryAnswer {
  const f =
    err instanceof HttpFailure
      ? err
      : err instanceof ProtoDecodeError || err instanceof SelectorError
        ? invalid(err.message)
        : new HttpFailure(500, (err as Error)?.message ?? String(err), 'unknown');
  return {
    status: f.status,
    contentType: 'application/json',
    headers: f.headers,
    body: Buffer.from(JSON.stringify(errorBody(f.status, f.message, f.code))),
  };
}

/** The largest query body checked on the event loop before it is queued (QueryController.malformed). */
const PRECHECK_MAX_BYTES = 16 * 1024;

function invalid(message: string): HttpFailure {
  return new HttpFailure(400, message, 'invalid_param', {}, 'invalid_argument');
}

/** Pyroscope's default flame-graph size (querier.max-flamegraph-nodes-default) when none asked. */
const DEFAULT_MAX_NODES = 8192;

function maxNodes(q: Decoded): number {
  return num(q.maxNodes) > 0 ? num(q.maxNodes) : DEFAULT_MAX_NODES;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function encodingOf(ct: string | undefined): Encoding {
  const t = (ct ?? '').split(';')[0].trim().toLowerCase();
  if (t === 'application/proto' || t === 'application/x-protobuf' || t === 'application/protobuf')
    return 'proto';
  if (t === 'application/json' || t === '') return 'json';
  throw new HttpFailure(
    415,
    `unsupported content type ${t}: use application/proto or application/json`,
    'invalid_param',
    {},
    'invalid_argument',
  );
}

function bodyOf(req: FastifyRequest): Buffer {
  const b = req.body;
  if (Buffer.isBuffer(b)) return b;
  if (b === undefined || b === null) return Buffer.alloc(0);
  return Buffer.from(typeof b === 'string' ? b : JSON.stringify(b));
}

function decodeBody(
  spec: MessageSpec,
  raw: Buffer,
  encoding: Encoding,
  contentEncoding: string | undefined,
): Decoded {
  let body = raw;
  if (contentEncoding === 'gzip' && body.length > 0) {
    try {
      body = gunzipSync(body, { maxOutputLength: 16 * 1024 * 1024 });
    } catch (err) {
      throw invalid(`request body is not valid gzip: ${(err as Error).message}`);
    }
  }
  if (encoding === 'proto')
    return decodeProto(spec, new Uint8Array(body.buffer, body.byteOffset, body.length));
  if (body.length === 0) return fromJson(spec, {});
  const text = body.toString('utf8');
  const deep = jsonTooDeepAt(text);
  if (deep >= 0)
    throw invalid(
      `request body nests more than ${MAX_JSON_DEPTH} arrays or objects (at offset ${deep})`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(`request body is not valid JSON: ${(err as Error).message}`);
  }
  return fromJson(spec, parsed);
}

/**
 * The query's [start, end] in ms. Missing end = now; missing start = an hour before end, or —
 * for listings (profile types, labels, series), when neither is given, as older clients send
 * them — everything retained.
 */
function range(q: Decoded, listing = false): { start: number; end: number } {
  const now = Date.now();
  if (listing && num(q.start) <= 0 && num(q.end) <= 0) return { start: 0, end: now + HOUR };
  const end = num(q.end) > 0 ? num(q.end) : now;
  const start = num(q.start) > 0 ? num(q.start) : end - HOUR;
  if (start > end) throw invalid('start must not be after end (milliseconds since the epoch)');
  return { start, end };
}

function selectors(q: Decoded): Matcher[][] {
  return (q.matchers as string[]).filter((m) => m.trim() !== '').map((m) => parseSelector(m));
}

function checkFormat(q: Decoded): void {
  const f = num(q.format);
  if (f > 1)
    throw invalid(
      `format ${M.PROFILE_FORMAT[f] ?? f} is not supported: use PROFILE_FORMAT_FLAMEGRAPH`,
    );
}

/** The span selector as Pyroscope takes it (`pkg/model/profile.go`): 16 hex digits each, or 400. */
function spanSelectorOf(q: Decoded): string[] {
  try {
    return parseSpanSelector((q.spanSelector as string[] | undefined) ?? []);
  } catch (err) {
    if (err instanceof SpanSelectorError) throw invalid(err.message);
    throw err;
  }
}

function selectQuery(q: Decoded, tenant: string): SelectQuery {
  const profileTypeId = q.profileTypeID as string;
  if (!profileTypeId) throw invalid('profileTypeID is required');
  try {
    parseProfileTypeId(profileTypeId);
    parseSelector((q.labelSelector as string) || '{}');
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const { start, end } = range(q);
  const sts = q.stackTraceSelector as Decoded | undefined;
  const callSite = ((sts?.callSite as Decoded[] | undefined) ?? []).map((l) => String(l.name));
  return {
    tenant,
    profileTypeId,
    labelSelector: (q.labelSelector as string) || '{}',
    startMs: start,
    endMs: end,
    spanSelector: spanSelectorOf(q),
    callSite,
  };
}
