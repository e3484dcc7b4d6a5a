// The registry's front for the JFR decoder (`./jfr`, owned separately): reads the raw body or the
// form (`jfr` + `labels` parts, each gunzipped by magic and capped), runs the recording through
// `decodeJfr`, labels each produced profile as Pyroscope does (`pkg/og/convert/jfr/profile.go`,
// jfr-parser `pprof/pyroscope` Labels; pyroscope-protocol.md §1.6.2) and finishes every series
// like the other formats. JfrErrors become DecodeErrors.

import { jfrIngestLabels, toInt64 } from '../model/index.js';
import { decompressJfrPart, isProtocolError, readJfrForm } from '../protocol/index.js';
import { DecodeError } from './decode-error.js';
import type { DecodeErrorKind } from './decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits, Decoder } from './decoder.js';
import { JfrError, NameCache, decodeJfr } from './jfr/index.js';
import { parseNanos } from './legacy.js';
import { finishSeries, nowNanos } from './series-pipeline.js';

function fromProtocol(e: unknown): never {
  if (isProtocolError(e)) {
    const kind: DecodeErrorKind =
      e.reason === 'profile_size_limit'
        ? 'too_large'
        : e.kind === 'truncated'
          ? 'truncated'
          : 'malformed';
    throw new DecodeError(kind, e.message, { cause: e });
  }
  throw e;
}

// Method names by content, kept across the uploads this thread decodes (each worker and the main
// thread load their own copy of this module). Content-keyed, so it cannot map one recording's ids
// with another's names; bounded (DEFAULT_NAME_CACHE_LIMITS: 64k names, 4 MiB of name bytes, then it
// starts over). Decodes on one thread run one at a time (decode is synchronous), as it requires.
const names = new NameCache();

export const jfrDecoder: Decoder = {
  formats: ['jfr', 'jfr-form'],
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[] {
    let jfr: Uint8Array = input.body;
    let labels: Uint8Array | undefined;
    const isForm = input.format === 'jfr-form' || /multipart\/form-data/i.test(input.contentType);
    if (isForm) {
      try {
        const form = readJfrForm(input.body, input.contentType);
        jfr = decompressJfrPart(form.jfr, limits.maxDecompressedBytes, 'jfr');
        if (form.labels !== undefined) {
          labels = decompressJfrPart(form.labels, limits.maxDecompressedBytes, 'labels');
        }
      } catch (e) {
        fromProtocol(e);
      }
    }
    const p = input.params;
    let result;
    try {
      const jfrInput = {
        jfr,
        startNanos: toInt64(parseNanos(p.fromNanos)),
        endNanos: toInt64(parseNanos(p.untilNanos)),
        sampleRate: p.sampleRate,
        ...(labels === undefined ? {} : { labels }),
      };
      result = decodeJfr(jfrInput, undefined, names);
    } catch (e) {
      if (e instanceof JfrError) {
        const kind: DecodeErrorKind =
          e.kind === 'truncated' ? 'truncated' : e.kind === 'limit' ? 'too_large' : 'malformed';
        throw new DecodeError(kind, e.message, { cause: e });
      }
      throw e;
    }
    const now = nowNanos(input);
    const out: DecodedSeries[] = [];
    for (const prof of result.profiles) {
      const seriesLabels = jfrIngestLabels({
        metric: prof.metric,
        app: p.appName,
        spyName: p.spyName,
        labels: p.labels,
        jfrEvent: result.jfrEvent,
      });
      out.push(...finishSeries({ labels: seriesLabels, flat: prof.flat }, limits, now));
    }
    return out;
  },
};
