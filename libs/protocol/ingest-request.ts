// Resolves an /ingest request (query string + Content-Type) into IngestParams and the body format,
// in the order and with the defaults of Pyroscope's ingest handler (pyroscope-protocol.md §1.1,
// §1.4). Pure: the caller passes the clock reading.
import { ProtocolError } from './errors.js';
import { goAtoi } from './go-compat.js';
import type { IngestParams, UploadFormat } from './ingest-params.js';
import { parseLabelSet } from './name-parser.js';
import type { LabelSet } from './name-parser.js';
import { parseAtTime } from './time-parser.js';

/** Anything with URLSearchParams' `get` (first value wins, `null` when absent). */
export interface QueryLike {
  get(name: string): string | null | undefined;
}

export interface IngestRequestInput {
  query: QueryLike;
  /** the request's Content-Type header as sent (first value), if any */
  contentType?: string | null;
  /** server clock, Unix nanoseconds: the default for `from`/`until` and base of `now-1h` */
  now: bigint;
}

export interface IngestRequest {
  params: IngestParams;
  format: UploadFormat;
  /** the parsed `name`, for callers that need the Map form */
  labelSet: LabelSet;
}

export const DEFAULT_SAMPLE_RATE = 100;
export const DEFAULT_SPY_NAME = 'unknown';
export const DEFAULT_UNITS = 'samples';
export const DEFAULT_AGGREGATION_TYPE = 'sum';

function param(q: QueryLike, name: string): string {
  return q.get(name) ?? '';
}

/**
 * `sampleRate` as Pyroscope reads it: `strconv.Atoi`, negative or invalid → 100, then converted to
 * uint32 (so 4294967396 becomes 100 and 4294967296 becomes 0, as in Go).
 */
export function parseSampleRate(raw: string): number {
  if (raw === '') return DEFAULT_SAMPLE_RATE;
  const { value, ok } = goAtoi(raw);
  if (!ok || value < 0n) return DEFAULT_SAMPLE_RATE;
  return Number(BigInt.asUintN(32, value));
}

/** The format dispatch of §1.4, first match wins. Content-Type comparisons are case-sensitive. */
export function resolveUploadFormat(formatParam: string, contentType: string): UploadFormat {
  if (formatParam === 'trie' || contentType === 'binary/octet-stream+trie') return 'trie';
  if (formatParam === 'tree' || contentType === 'binary/octet-stream+tree') return 'tree';
  if (formatParam === 'lines') return 'lines';
  if (formatParam === 'jfr')
    return contentType.includes('multipart/form-data') ? 'jfr-form' : 'jfr';
  if (formatParam === 'pprof') return 'pprof';
  if (formatParam === 'speedscope') return 'speedscope';
  if (contentType.includes('multipart/form-data')) return 'pprof-form';
  return 'groups';
}

/**
 * Throws `ProtocolError` 400 `name: ...` (reason `invalid_labels`) for a bad or missing `name`;
 * every other parameter has a default and never fails, as in Pyroscope.
 */
export function parseIngestRequest(input: IngestRequestInput): IngestRequest {
  const q = input.query;
  const name = param(q, 'name');
  let labelSet: LabelSet;
  try {
    labelSet = parseLabelSet(name);
  } catch (e) {
    if (e instanceof ProtocolError) throw e.wrap('name: ');
    throw e;
  }
  const from = param(q, 'from');
  const until = param(q, 'until');
  const fromNanos = from === '' ? input.now : parseAtTime(from, input.now);
  const untilNanos = until === '' ? input.now : parseAtTime(until, input.now);
  const formatParam = param(q, 'format');
  const params: IngestParams = {
    name,
    appName: labelSet.serviceName,
    labels: Object.fromEntries(labelSet.labels),
    fromNanos: fromNanos.toString(),
    untilNanos: untilNanos.toString(),
    sampleRate: parseSampleRate(param(q, 'sampleRate')),
    spyName: param(q, 'spyName') || DEFAULT_SPY_NAME,
    units: param(q, 'units') || DEFAULT_UNITS,
    aggregationType: param(q, 'aggregationType') || DEFAULT_AGGREGATION_TYPE,
    formatParam,
  };
  return { params, format: resolveUploadFormat(formatParam, input.contentType ?? ''), labelSet };
}

/** A parsed query string: `get` returns the first value, as Go's `url.Values.Get`. */
export class GoQuery implements QueryLike {
  constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}
  get(name: string): string | null {
    return this.values.get(name)?.[0] ?? null;
  }
  getAll(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }
}

/**
 * Go's `url.ParseQuery` as Pyroscope's handler sees the query: pairs split on `&`, a pair holding
 * `;` or a bad `%` escape is dropped (Go rejects it; URLSearchParams would keep it), `+` is a
 * space. Use it instead of URLSearchParams for exact parity on odd query strings.
 */
export function parseGoQuery(rawQuery: string): GoQuery {
  const values = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const k = goQueryUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const v = goQueryUnescape(eq === -1 ? '' : pair.slice(eq + 1));
    if (k === undefined || v === undefined) continue;
    const list = values.get(k);
    if (list) list.push(v);
    else values.set(k, [v]);
  }
  return new GoQuery(values);
}

/** Go `url.QueryUnescape`; undefined on a malformed `%` escape. Bytes decode as UTF-8. */
function goQueryUnescape(s: string): string | undefined {
  if (!s.includes('%') && !s.includes('+')) return s;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else if (c === '+') bytes.push(0x20);
    else {
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      for (const b of enc.encode(ch)) bytes.push(b);
      i += ch.length - 1;
    }
  }
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes));
}

/** Pyroscope's answer to a body over `ingestion_body_limit_mb` (413, `body_size_limit_exceeded`). */
export function bodyTooLargeError(): ProtocolError {
  return new ProtocolError({
    kind: 'body_too_large',
    status: 413,
    code: 'invalid_argument',
    reason: 'body_size_limit_exceeded',
    message: 'request body too large: http: request body too large',
  });
}
