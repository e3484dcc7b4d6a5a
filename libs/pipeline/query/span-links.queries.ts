import {
  SelectorError,
  parseProfileTypeId,
  parseSelector,
  profiledSpans,
  topSpans,
  type EmbeddedStore,
  type ProfiledSpanSources,
} from '../../backends/index.js';
import type { QueryAnswer, QueryTask } from './query-executor.js';

// The profile-store half of the span links (span-links.controller.ts) as query tasks, so they
// run where every other query runs: on the query workers, within the time budget
// (query-executor.ts), never on the event loop of the process hosting the store. Their method
// names are not querier.v1's and are never served by name over HTTP (QueryController.call
// knows only its own table); the body is JSON.

export const PROFILED_SPANS = 'emberflow.ProfiledSpans';
export const TOP_SPANS = 'emberflow.TopSpans';

export interface ProfiledSpansArgs {
  spanIds: string[];
  startMs: number;
  endMs: number;
}

export interface TopSpansArgs {
  profileTypeId: string;
  labelSelector: string;
  startMs: number;
  endMs: number;
  limit: number;
}

export interface ProfiledSpansAnswer {
  /** span id → the service_name values and profile types of the profiles holding its samples */
  found: [string, ProfiledSpanSources][];
}

export interface TopSpansAnswer {
  spans: { spanId: string; value: number }[];
  distinct: number;
  total: number;
}

export function isSpanQuery(method: string): boolean {
  return method === PROFILED_SPANS || method === TOP_SPANS;
}

export function spanQueryTask(
  method: typeof PROFILED_SPANS | typeof TOP_SPANS,
  tenant: string,
  args: ProfiledSpansArgs | TopSpansArgs,
): QueryTask {
  return { method, tenant, encoding: 'json', body: Buffer.from(JSON.stringify(args)) };
}

const answer = (status: number, body: unknown): QueryAnswer => ({
  status,
  contentType: 'application/json',
  body: Buffer.from(JSON.stringify(body)),
});

/** Runs one span query over a store; never throws (a bad selector is 400, anything else 500). */
export function runSpanQuery(store: EmbeddedStore, task: QueryTask): QueryAnswer {
  try {
    const args = JSON.parse(Buffer.from(task.body).toString('utf8')) as unknown;
    if (task.method === PROFILED_SPANS) {
      const a = args as ProfiledSpansArgs;
      const found = profiledSpans(store, task.tenant, a.spanIds, a.startMs, a.endMs);
      return answer(200, { found: [...found] } satisfies ProfiledSpansAnswer);
    }
    if (task.method === TOP_SPANS) {
      const a = args as TopSpansArgs;
      parseProfileTypeId(a.profileTypeId);
      const top = topSpans(
        store,
        {
          tenant: task.tenant,
          profileTypeId: a.profileTypeId,
          labelSelector: a.labelSelector,
          startMs: a.startMs,
          endMs: a.endMs,
        },
        a.limit,
      );
      return answer(200, top satisfies TopSpansAnswer);
    }
    return answer(404, { code: 'unimplemented', message: `unknown method ${task.method}` });
  } catch (err) {
    if (err instanceof SelectorError)
      return answer(400, { code: 'invalid_argument', message: err.message });
    return answer(500, { code: 'internal', message: (err as Error).message });
  }
}

/** Makes sure the arguments parse before a task is queued (400 at once, not from a worker). */
export function checkTopSpansArgs(a: TopSpansArgs): void {
  parseProfileTypeId(a.profileTypeId);
  parseSelector(a.labelSelector);
}
