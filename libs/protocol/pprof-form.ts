// The pprof multipart form of /ingest (pyroscope-protocol.md §1.5.1): parts `profile`,
// `prev_profile`, `sample_type_config`. Validates the envelope only; the profile bytes are not
// decoded here. Errors carry the exact message Pyroscope answers with (its handler prefixes
// included) and status 422.
import { ProtocolError, unprocessable } from './errors.js';
import { formFile, parseBoundary, readMultipart } from './multipart.js';
import type { MultipartLimits } from './multipart.js';
import { JsonError, parseSampleTypeConfig } from './sample-type-config.js';
import type { SampleTypeConfigMap } from './sample-type-config.js';

/** Prefix of every pprof error on /ingest (`parsing IngestInput-pprof failed %w`). */
export const INGEST_PPROF_ERROR_PREFIX = 'parsing IngestInput-pprof failed ';
/** Prefix added when the pprof form itself fails (`failed to parse pprof /ingest multipart form %w`). */
export const PPROF_FORM_ERROR_PREFIX = 'failed to parse pprof /ingest multipart form ';

export const PREV_PROFILE_MESSAGE =
  'unsupported client version. Please update github.com/grafana/pyroscope-go to the latest version';

export interface PprofForm {
  /** the `profile` part (gzipped or not), a view into the body; undefined → Pyroscope answers 200 and stores nothing */
  profile: Buffer | undefined;
  /** the parsed `sample_type_config`; undefined when absent, empty or JSON `null` */
  sampleTypeConfig: SampleTypeConfigMap | undefined;
}

/**
 * Reads the pprof form as Pyroscope's `loadPprofFromForm`, in its order: boundary, form, `profile`,
 * `prev_profile` (present and non-empty → 422 unsupported client version), `sample_type_config`.
 */
export function readPprofForm(
  body: Uint8Array,
  contentType: string,
  limits: MultipartLimits = {},
): PprofForm {
  try {
    const parts = readMultipart(body, parseBoundary(contentType), limits);
    const profile = formFile(parts, 'profile');
    if (formFile(parts, 'prev_profile') !== undefined) {
      throw unprocessable('unsupported_client', PREV_PROFILE_MESSAGE);
    }
    const raw = formFile(parts, 'sample_type_config');
    let sampleTypeConfig: SampleTypeConfigMap | undefined;
    if (raw !== undefined) {
      try {
        sampleTypeConfig = parseSampleTypeConfig(raw);
      } catch (e) {
        if (e instanceof JsonError) throw unprocessable('invalid_config', e.message);
        throw e;
      }
    }
    return { profile, sampleTypeConfig };
  } catch (e) {
    if (e instanceof ProtocolError)
      throw e.wrap(INGEST_PPROF_ERROR_PREFIX + PPROF_FORM_ERROR_PREFIX);
    throw e;
  }
}
