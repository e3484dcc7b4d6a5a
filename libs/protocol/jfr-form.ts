// The JFR multipart form of /ingest (`format=jfr` + multipart, pyroscope-protocol.md §1.5.2):
// parts `jfr` (required) and `labels` (optional LabelsSnapshot). Validates the envelope only; the
// recording is not decoded here. Messages are Pyroscope's, with its handler prefix; status 422.
import { ProtocolError, unprocessable } from './errors.js';
import { decompressedTooLargeMessage, inflateBounded, isGzip } from './gzip.js';
import { formFile, parseBoundary, readMultipart } from './multipart.js';
import type { MultipartLimits } from './multipart.js';
import { INGEST_PPROF_ERROR_PREFIX } from './pprof-form.js';

export interface JfrForm {
  /** the `jfr` part as sent (gzipped or not), a view into the body */
  jfr: Buffer;
  /** the `labels` part as sent, undefined when absent or empty */
  labels: Buffer | undefined;
}

/** Reads the JFR form as Pyroscope's `loadJFRFromForm` (without decompressing or decoding). */
export function readJfrForm(
  body: Uint8Array,
  contentType: string,
  limits: MultipartLimits = {},
): JfrForm {
  try {
    const parts = readMultipart(body, parseBoundary(contentType), limits);
    const jfr = formFile(parts, 'jfr');
    if (jfr === undefined) {
      throw unprocessable('missing_part', 'jfr field is required');
    }
    return { jfr, labels: formFile(parts, 'labels') };
  } catch (e) {
    if (e instanceof ProtocolError) throw e.wrap(INGEST_PPROF_ERROR_PREFIX);
    throw e;
  }
}

/**
 * Pyroscope's `decompress` for the `jfr` / `labels` parts: fewer than 2 bytes → `failed to read
 * magic`; gzip magic → inflate capped at `maxBytes` (0 = no cap); otherwise returned as is.
 * Errors carry the full /ingest message (`parsing IngestInput-pprof failed loadJFRFromForm failed
 * to decompress jfr: ...`), 422; an over-cap part has reason `profile_size_limit`.
 */
export function decompressJfrPart(
  part: Uint8Array,
  maxBytes: number,
  field: 'jfr' | 'labels',
): Uint8Array {
  const prefix = `${INGEST_PPROF_ERROR_PREFIX}loadJFRFromForm failed to decompress ${field}: `;
  if (part.length < 2) throw unprocessable('truncated', prefix + 'failed to read magic');
  if (!isGzip(part)) return part;
  try {
    return inflateBounded(part, maxBytes);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    if (e.kind === 'profile_too_large') {
      throw unprocessable(
        'profile_too_large',
        prefix + decompressedTooLargeMessage(maxBytes),
        'profile_size_limit',
        e,
      );
    }
    if (e.message === 'gzip: invalid header' || part.length < 10) {
      throw e.wrap(prefix + 'failed to read gzip header: ');
    }
    throw e.wrap(prefix + 'failed to decompress jfr: ');
  }
}
