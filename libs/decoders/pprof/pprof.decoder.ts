// pprof on /ingest: a raw body (`format=pprof`) or the multipart form (`profile`,
// `prev_profile`, `sample_type_config`). Pyroscope: `pkg/og/convert/pprof/profile.go`
// ParseToPprof / loadPprofFromForm / createLabels; pyroscope-protocol.md §1.5.1, §1.6.1.
//
// Order as upstream: form checks (prev_profile → reject, config JSON), empty profile → no
// series, decode (gzip sniffed, size capped), time fix, scripting-spy function names, .NET
// fix-ups, labels (metric name from the sample types and config), then the distributor steps.

import {
  fixDotnetFlat,
  fixPprofTime,
  fixScriptingFunctionNamesFlat,
  isDotnetSpy,
  pprofIngestLabels,
  pprofMetricName,
  toInt64,
} from '../../model/index.js';
import type { SampleTypeConfigMap } from '../../model/index.js';
import { DecodeError } from '../decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits, Decoder, FormPart } from '../decoder.js';
import { parseNanos } from '../legacy.js';
import { parseSampleTypeConfig, readFormParts } from '../protocol-bridge.js';
import { finishSeries, nowNanos } from '../series-pipeline.js';
import { decodePprofBytesFlat } from './pprof-bytes.js';

/** `form.ReadField`: the first file part of that name; empty means absent. */
export function formField(parts: readonly FormPart[], name: string): Uint8Array | undefined {
  const p = parts.find((x) => x.name === name && x.filename !== undefined && x.filename !== '');
  return p === undefined || p.data.length === 0 ? undefined : p.data;
}

const PREV_PROFILE =
  'unsupported client version. Please update github.com/grafana/pyroscope-go to the latest version';

/** The /ingest pprof path from the profile bytes on (the form already read). */
export function decodeIngestPprof(
  bytes: Uint8Array | undefined,
  config: SampleTypeConfigMap | undefined,
  input: DecodeInput,
  limits: DecodeLimits,
): DecodedSeries[] {
  if (bytes === undefined || bytes.length === 0) return [];
  const profile = decodePprofBytesFlat(bytes, limits, input.inflated?.[0]);
  const params = input.params;
  fixPprofTime(profile, toInt64(parseNanos(params.fromNanos)));
  fixScriptingFunctionNamesFlat(profile, params.spyName);
  if (isDotnetSpy(params.spyName, config)) fixDotnetFlat(profile);
  const labels = pprofIngestLabels({
    metric: pprofMetricName(profile, config),
    app: params.appName,
    spyName: params.spyName,
    labels: params.labels,
  });
  return finishSeries({ labels, flat: profile }, limits, nowNanos(input));
}

export const pprofDecoder: Decoder = {
  formats: ['pprof', 'pprof-form'],
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[] {
    if (input.format === 'pprof') return decodeIngestPprof(input.body, undefined, input, limits);
    const parts = input.parts ?? readFormParts(input.body, input.contentType);
    const profile = formField(parts, 'profile');
    if (formField(parts, 'prev_profile') !== undefined) {
      throw new DecodeError('unsupported_client', PREV_PROFILE);
    }
    const raw = formField(parts, 'sample_type_config');
    const config = raw === undefined ? undefined : parseSampleTypeConfig(raw);
    return decodeIngestPprof(profile, config, input, limits);
  },
};
