import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PermanentError, RetryableError } from '../../model/index.js';
import { encodePushRequest, type RawProfileSeries } from '../../protocol/index.js';

// One Push call: POST <url>/push.v1.PusherService/Push in the Connect protocol, binary proto
// (`application/proto`), gzip request body (`Content-Encoding: gzip`) — what pyroscope-rs and
// the Python/Ruby SDKs send (pyroscope-protocol.md §2.2). Outcomes are classified as the
// exporter needs them:
//   2xx → accepted;
//   408, 429, 5xx, network errors → RetryableError (Retry-After honoured, seconds or a date);
//   other 4xx → PermanentError, reason `not_in_ingestion_window` when Pyroscope says the profile
//   is outside its ingestion window, `export_rejected` otherwise.
// Error bodies are Connect's JSON `{"code": "...", "message": "..."}`; anything else is quoted.

const gzipAsync = promisify(gzip);

export interface PushCallOptions {
  url: string;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  signal?: AbortSignal;
}

export interface ConnectErrorBody {
  code: string;
  message: string;
}

/** Parses a Connect error body; null when it is not one. */
export function parseConnectError(text: string): ConnectErrorBody | null {
  try {
    const v = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof v?.code !== 'string') return null;
    return { code: v.code, message: typeof v.message === 'string' ? v.message : '' };
  } catch {
    return null;
  }
}

/** Retry-After as delay-seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const RETRYABLE_CODES = new Set([
  'unavailable',
  'resource_exhausted',
  'deadline_exceeded',
  'aborted',
]);

/** Classifies a non-2xx answer. */
export function classifyPushFailure(
  status: number,
  body: string,
  retryAfter: string | null,
  endpoint: string,
): RetryableError | PermanentError {
  const ce = parseConnectError(body);
  const detail = ce ? `${ce.code}: ${ce.message}` : body.slice(0, 300).trim() || '(empty body)';
  const message = `push to ${endpoint} answered ${status} ${detail}`;
  if (status === 408 || status === 429 || status >= 500 || (ce && RETRYABLE_CODES.has(ce.code))) {
    return new RetryableError(message, parseRetryAfter(retryAfter));
  }
  const reason = /ingestion window/i.test(ce?.message ?? body)
    ? 'not_in_ingestion_window'
    : 'export_rejected';
  return new PermanentError(message, reason);
}

/**
 * A UUID derived from the series id: Pyroscope's v1 ingester parses RawSample.ID as a UUID, and
 * a stable one lets the backend recognise a resend as the same profile.
 */
export function sampleIdFor(tenant: string, seriesId: string): string {
  const h = createHash('sha256').update(`${tenant}\u0000${seriesId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80; // version 8: custom (RFC 9562)
  h[8] = (h[8] & 0x3f) | 0x80; // variant 10
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Sends one PushRequest; resolves on 2xx, throws classified errors otherwise. */
export async function pushSeries(series: RawProfileSeries[], o: PushCallOptions): Promise<void> {
  const proto = encodePushRequest({ series });
  const body = o.compression === 'gzip' ? await gzipAsync(proto, { level: 6 }) : proto;
  const headers: Record<string, string> = {
    ...o.headers,
    'content-type': 'application/proto',
    'connect-protocol-version': '1',
  };
  if (o.compression === 'gzip') headers['content-encoding'] = 'gzip';
  const endpoint = `${o.url.replace(/\/+$/, '')}/push.v1.PusherService/Push`;
  let res: Response;
  try {
    res = await fetch(endpoint, { method: 'POST', headers, body, signal: o.signal });
  } catch (err) {
    if (o.signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new RetryableError(
      `push to ${endpoint} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      undefined,
      { cause: err },
    );
  }
  const text = await res.text().catch(() => '');
  if (res.status >= 200 && res.status < 300) return;
  throw classifyPushFailure(res.status, text, res.headers.get('retry-after'), endpoint);
}
