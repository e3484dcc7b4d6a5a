// OTLP profiles (`otlp`): an ExportProfilesServiceRequest, protobuf or OTLP/JSON by its
// Content-Type (ingest checked the envelope and the decode task undid a gzip Content-Encoding),
// converted as Pyroscope converts it (otlp-convert.ts), then the distributor steps per series.
import {
  decodeExportProfilesRequest,
  isProtocolError,
  negotiateOtlp,
} from '../../protocol/index.js';
import { DecodeError } from '../decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits, Decoder } from '../decoder.js';
import { finishSeries, nowNanos } from '../series-pipeline.js';
import { convertExportRequest } from './otlp-convert.js';

export const otlpProfilesDecoder: Decoder = {
  formats: ['otlp'],
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[] {
    let req;
    try {
      const envelope = negotiateOtlp({ contentType: input.contentType });
      req = decodeExportProfilesRequest(input.body, envelope, limits.maxRequestDecompressedBytes);
    } catch (e) {
      if (isProtocolError(e))
        throw new DecodeError(e.kind === 'truncated' ? 'truncated' : 'malformed', e.message, {
          cause: e,
        });
      throw e;
    }
    const now = nowNanos(input);
    const out: DecodedSeries[] = [];
    for (const s of convertExportRequest(req, now)) {
      out.push(...finishSeries({ labels: s.labels, profile: s.profile }, limits, now));
    }
    return out;
  },
};
