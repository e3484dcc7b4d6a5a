import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  encodePushRequest,
  encodePushRequestJson,
  type PushRequest,
} from '../../libs/protocol/index.js';

// Requests built the way the official agents build them (pyroscope-protocol.md §3), so tests
// post what agents post, not what is convenient.

export interface AgentRequest {
  /** how the agent sends it, for test names */
  way: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
}

export interface FormPartSpec {
  name: string;
  filename: string;
  contentType?: string;
  data: Buffer;
}

/** multipart/form-data as Go's mime/multipart writes it (CRLF, quoted names). */
export function multipartBody(
  parts: FormPartSpec[],
  boundary = randomBytes(30).toString('hex'),
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: ${p.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      p.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function isGz(b: Buffer): boolean {
  return b.length > 1 && b[0] === 0x1f && b[1] === 0x8b;
}

export function gz(b: Buffer): Buffer {
  return isGz(b) ? b : gzipSync(b);
}

/** The Go SDK: multipart with `profile` (gzipped pprof) and optional `sample_type_config`. */
export function goPprofForm(name: string, pprof: Buffer, sampleTypeConfig?: Buffer): AgentRequest {
  const parts: FormPartSpec[] = [{ name: 'profile', filename: 'profile.pprof', data: gz(pprof) }];
  if (sampleTypeConfig)
    parts.push({
      name: 'sample_type_config',
      filename: 'sample_type_config.json',
      data: sampleTypeConfig,
    });
  const { body, contentType } = multipartBody(parts);
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    way: 'Go SDK multipart',
    path: '/ingest',
    query: {
      name,
      from: String(now - 10_000_000_000n),
      until: String(now),
      spyName: 'gospy',
      sampleRate: '100',
    },
    headers: { 'content-type': contentType },
    body,
  };
}

/** The Java agent: `format=jfr`, multipart with `jfr` (gzipped) and optional `labels`. */
export function javaJfrForm(name: string, jfr: Buffer, labels?: Buffer): AgentRequest {
  const parts: FormPartSpec[] = [{ name: 'jfr', filename: 'jfr', data: gz(jfr) }];
  if (labels)
    parts.push({
      name: 'labels',
      filename: 'labels',
      contentType: 'application/x-protobuf',
      data: gz(labels),
    });
  const { body, contentType } = multipartBody(parts);
  const now = Math.floor(Date.now() / 1000);
  return {
    way: 'Java agent multipart',
    path: '/ingest',
    query: {
      name,
      from: String(now - 10),
      until: String(now),
      format: 'jfr',
      spyName: 'javaspy',
      sampleRate: '100',
    },
    headers: { 'content-type': contentType },
    body,
  };
}

/** Raw body with a `format` parameter (legacy SDKs, curl users). */
export function rawUpload(
  name: string,
  format: string | undefined,
  body: Buffer,
  headers: Record<string, string> = {},
): AgentRequest {
  const now = Math.floor(Date.now() / 1000);
  const query: Record<string, string> = { name, from: String(now - 10), until: String(now) };
  if (format) query.format = format;
  return { way: `raw${format ? ` format=${format}` : ''}`, path: '/ingest', query, headers, body };
}

/** The Push API as pyroscope-rs, the .NET profiler and Alloy send it. */
export function pushRequest(
  labels: Record<string, string>,
  pprof: Buffer,
  codec: 'proto' | 'json',
  gzipBody: boolean,
): AgentRequest {
  const req: PushRequest = {
    series: [
      {
        labels: Object.entries(labels).map(([name, value]) => ({ name, value })),
        samples: [{ rawProfile: pprof, id: '' }],
        annotations: [],
      },
    ],
  };
  let body =
    codec === 'proto'
      ? Buffer.from(encodePushRequest(req))
      : Buffer.from(encodePushRequestJson(req));
  const headers: Record<string, string> = {
    'content-type': codec === 'proto' ? 'application/proto' : 'application/json',
    'connect-protocol-version': '1',
  };
  if (gzipBody) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  return {
    way: `Push ${codec}${gzipBody ? ' gzip' : ''}`,
    path: '/push.v1.PusherService/Push',
    query: {},
    headers,
    body,
  };
}

export async function send(
  baseUrl: string,
  r: AgentRequest,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const qs = new URLSearchParams(r.query).toString();
  return fetch(`${baseUrl}${r.path}${qs ? `?${qs}` : ''}`, {
    method: 'POST',
    headers: { ...r.headers, ...extraHeaders },
    body: r.body,
  });
}

/**
 * POSTs `body` to `url` as an agent that honours Retry-After does: while ingest answers 503
 * `pipeline_behind` (the decoder is more than EMBER_INGEST_MAX_BACKLOG behind, as after a burst of
 * large uploads on a loaded machine), it waits Retry-After (1-10 s) and sends again, until
 * `budgetMs` is spent. Returns the last answer and its body, for the caller to assert on; any
 * other answer is returned at once.
 */
export async function postAdmitted(
  url: string,
  body: Buffer,
  budgetMs = 90_000,
): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const r = await fetch(url, { method: 'POST', body });
    const text = await r.text();
    if (r.status !== 503 || !/pipeline is behind/.test(text) || Date.now() >= deadline) {
      return { status: r.status, text };
    }
    const after = Number(r.headers.get('retry-after') ?? '1');
    const waitS = Math.min(Math.max(Number.isFinite(after) ? after : 1, 1), 10);
    await new Promise((resolve) => setTimeout(resolve, waitS * 1000));
  }
}
