// Push (`push.v1.PusherService/Push`): every RawSample of every RawProfileSeries is one series of
// the series' labels and the sample's pprof. Pyroscope: `pkg/distributor/distributor.go` Push,
// PushBatch, pushSeries; pyroscope-protocol.md §2.3-§2.4. Labels are taken as sent (no
// `__name__` is invented); the distributor steps (service_name fallback, validation,
// normalisation, relabelling, split by sample labels) run per series.
//
// Upstream collects decode errors and still stores the samples that decoded, but answers with
// the error; here any failing sample fails the upload (the client was told it failed).

import { DecodeError } from '../decode-error.js';
import type {
  DecodedSeries,
  DecodeInput,
  DecodeLimits,
  Decoder,
  PushSeriesInput,
} from '../decoder.js';
import { humanizeBytes } from '../../protocol/index.js';
import { decodePushBody } from '../protocol-bridge.js';
import { finishSeries, nowNanos } from '../series-pipeline.js';
import { decodeInflated, inflatePprofOnce } from '../pprof/pprof-bytes.js';

export const pushDecoder: Decoder = {
  formats: ['push'],
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[] {
    const out: DecodedSeries[] = [];
    decodeEach(input, limits, (s) => out.push(s));
    return out;
  },
  decodeEach,
};

/**
 * Every sample is inflated first (the request's size limit is on their sum, checked before
 * anything is emitted), then decoded and emitted one at a time: what stays live is the inflated
 * bytes and one decoded profile.
 */
function decodeEach(
  input: DecodeInput,
  limits: DecodeLimits,
  emit: (series: DecodedSeries) => void,
): void {
  const request = input.push ?? decodePushBody(input.body, input.contentType);
  const now = nowNanos(input);
  const counter = input.requestBytes ?? { counted: 0 };
  let total = counter.counted;
  const decoded: { labels: PushSeriesInput['labels']; raw: Uint8Array; id: string }[] = [];
  let k = 0; // the sample's position in the request: its index in input.inflated
  for (const s of request) {
    for (const sample of s.samples) {
      const handed = input.inflated?.[k++];
      const raw = inflatePprofOnce(sample.rawProfile, limits.maxDecompressedBytes, handed);
      total += raw.length;
      if (limits.maxRequestDecompressedBytes > 0 && total > limits.maxRequestDecompressedBytes) {
        throw new DecodeError(
          'body_too_large',
          `uncompressed batched profile payload size exceeds limit of ${humanizeBytes(limits.maxRequestDecompressedBytes)}`,
        );
      }
      decoded.push({ labels: s.labels, raw, id: sample.id });
    }
  }
  counter.counted = total;
  if (decoded.length === 0) throw new DecodeError('no_profiles', 'no profiles received');
  for (const d of decoded) {
    const profile = decodeInflated(d.raw, limits);
    const labels = d.labels.map((l) => ({ name: l.name, value: l.value }));
    const id = d.id === '' ? undefined : d.id;
    for (const s of finishSeries({ labels, flat: profile, id }, limits, now)) emit(s);
  }
}
