import {
  handedBytes,
  type HandedInflate,
  type IngestParams,
  type UploadFormat,
} from '../../protocol/index.js';
import type { IncomingMessage, OutgoingMessage } from '../queue.port.js';
import { PermanentError } from '../../model/index.js';
import { TOPICS } from '../topics.js';

// profiles.raw.v1: one accepted upload. The value is the request body exactly as received (still
// gzip-compressed if it was); everything ingest resolved travels in headers, so the decoder sees
// what ingest saw and a DLQ replay needs nothing else.

export const RAW_UPLOAD_TOPIC = TOPICS.raw;
export const RAW_UPLOAD_SCHEMA = 'raw-upload.v1';

export interface RawUpload {
  uploadId: string;
  tenant: string;
  format: UploadFormat;
  contentType: string;
  /** Content-Encoding header as sent ('' when absent) */
  contentEncoding: string;
  params: IngestParams;
  /** ms since epoch when ingest accepted it */
  receivedAtMs: number;
  body: Buffer;
  /**
   * How many profiles the body holds, when ingest counted more than one (the samples of a Push):
   * the decoder sizes its waves by it, since a Push of 10,000 tiny profiles is 80 KB on the wire
   * and about 40 MB once decoded. Absent: one.
   */
  profiles?: number;
  /**
   * In-process only: what ingest's scan inflated of `body`, so that the decoder of this process
   * does not inflate it again (the in-process queue hands it over beside the message, counted
   * in its byte budget; Kafka, dead letters and replays never carry it). Read-only; absent, the
   * decoder inflates, with the same result.
   */
  inflated?: InflatedUpload;
}

/** What of an upload was inflated already (see RawUpload.inflated). */
export interface InflatedUpload {
  /** the body, when it was sent with `Content-Encoding: gzip` */
  body?: HandedInflate;
  /** the pprofs, in the order the decoder inflates them (DecodeInput.inflated) */
  pprofs?: (HandedInflate | null)[];
}

/** A handed-over inflate (OutgoingMessage.local of a raw upload) is one of these. */
interface LocalInflated {
  kind: 'inflated-upload';
  inflated: InflatedUpload;
}

function inflatedBytes(i: InflatedUpload): number {
  let n = handedBytes(i.body);
  for (const p of i.pprofs ?? []) n += handedBytes(p);
  return n;
}

const H = {
  schema: 'ember-schema',
  uploadId: 'ember-upload-id',
  tenant: 'ember-tenant',
  format: 'ember-format',
  contentType: 'ember-content-type',
  contentEncoding: 'ember-content-encoding',
  params: 'ember-params',
  receivedAt: 'ember-received-at',
} as const;

/** Headers that a raw upload may carry (absent on uploads of older writers). */
const OPTIONAL = {
  profiles: 'ember-profiles',
} as const;

/**
 * The profiles a consumed raw upload declares (RawUpload.profiles), read from its headers
 * without decoding it: at least 1, and 1 when the header is absent or unreadable.
 */
export function rawUploadProfiles(m: Pick<IncomingMessage, 'headers'>): number {
  const v = m.headers[OPTIONAL.profiles];
  const n = v === undefined ? 1 : Number(v);
  return Number.isSafeInteger(n) && n > 1 ? n : 1;
}

export function encodeRawUpload(u: RawUpload): OutgoingMessage {
  return {
    // One service's uploads stay on one partition, in order.
    key: `${u.tenant}/${u.params.appName}`,
    value: u.body,
    headers: {
      [H.schema]: RAW_UPLOAD_SCHEMA,
      [H.uploadId]: u.uploadId,
      [H.tenant]: u.tenant,
      [H.format]: u.format,
      [H.contentType]: u.contentType,
      [H.contentEncoding]: u.contentEncoding,
      [H.params]: JSON.stringify(u.params),
      [H.receivedAt]: String(u.receivedAtMs),
      ...(u.profiles !== undefined && u.profiles > 1
        ? { [OPTIONAL.profiles]: String(u.profiles) }
        : {}),
    },
    ...(u.inflated
      ? {
          local: {
            value: { kind: 'inflated-upload', inflated: u.inflated } satisfies LocalInflated,
            bytes: inflatedBytes(u.inflated),
          },
        }
      : {}),
  };
}

const FORMATS: ReadonlySet<string> = new Set<UploadFormat>([
  'pprof',
  'pprof-form',
  'jfr',
  'jfr-form',
  'groups',
  'lines',
  'trie',
  'tree',
  'speedscope',
  'push',
  'otlp',
]);

/** Validates a consumed message against the contract; throws PermanentError when it is not one. */
export function decodeRawUpload(m: IncomingMessage): RawUpload {
  const h = m.headers;
  if (h[H.schema] !== RAW_UPLOAD_SCHEMA) {
    throw new PermanentError(
      `not a ${RAW_UPLOAD_SCHEMA} message (schema=${h[H.schema]})`,
      'bad_message',
    );
  }
  const missing = Object.values(H).filter((k) => h[k] === undefined);
  if (missing.length > 0) {
    throw new PermanentError(`raw upload is missing headers: ${missing.join(', ')}`, 'bad_message');
  }
  if (!FORMATS.has(h[H.format])) {
    throw new PermanentError(`raw upload has unknown format ${h[H.format]}`, 'bad_message');
  }
  let params: IngestParams;
  try {
    params = JSON.parse(h[H.params]) as IngestParams;
  } catch (err) {
    throw new PermanentError('raw upload params are not JSON', 'bad_message', { cause: err });
  }
  if (typeof params?.appName !== 'string' || typeof params.fromNanos !== 'string') {
    throw new PermanentError('raw upload params are incomplete', 'bad_message');
  }
  return {
    uploadId: h[H.uploadId],
    tenant: h[H.tenant],
    format: h[H.format] as UploadFormat,
    contentType: h[H.contentType],
    contentEncoding: h[H.contentEncoding],
    params,
    receivedAtMs: Number(h[H.receivedAt]),
    body: m.value,
    ...(h[OPTIONAL.profiles] !== undefined ? { profiles: rawUploadProfiles(m) } : {}),
    ...localInflated(m),
  };
}

function localInflated(m: IncomingMessage): { inflated?: InflatedUpload } {
  const v = m.local?.value as LocalInflated | undefined;
  return v?.kind === 'inflated-upload' ? { inflated: v.inflated } : {};
}

export const RAW_UPLOAD_HEADERS = H;
