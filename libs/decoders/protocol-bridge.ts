// Calls into the protocol library (multipart forms, sample_type_config, Push messages) with its
// ProtocolErrors turned into DecodeErrors, so nothing else escapes a decoder.

import type { SampleTypeConfigMap } from '../model/index.js';
import {
  decodePushRequest as decodePushProto,
  decodePushRequestJson,
  isProtocolError,
  parseBoundary,
  parseSampleTypeConfig as parseConfigGo,
  readMultipart,
} from '../protocol/index.js';
import { DecodeError } from './decode-error.js';
import type { DecodeErrorKind } from './decode-error.js';
import type { FormPart, PushSeriesInput } from './decoder.js';

function convert(e: unknown): never {
  if (isProtocolError(e)) {
    let kind: DecodeErrorKind = 'malformed';
    if (e.kind === 'unsupported_client') kind = 'unsupported_client';
    else if (e.reason === 'profile_size_limit') kind = 'too_large';
    else if (e.kind === 'truncated') kind = 'truncated';
    throw new DecodeError(kind, e.message, { cause: e });
  }
  throw e;
}

/** Splits a multipart body (Go's mime/multipart semantics) into form parts. */
export function readFormParts(body: Uint8Array, contentType: string): FormPart[] {
  try {
    const out: FormPart[] = [];
    for (const p of readMultipart(body, parseBoundary(contentType))) {
      if (p.name === undefined) continue;
      const part: FormPart = { name: p.name, data: p.data };
      if (p.filename !== undefined) part.filename = p.filename;
      if (p.contentType !== undefined) part.contentType = p.contentType;
      out.push(part);
    }
    return out;
  } catch (e) {
    return convert(e);
  }
}

/** `sample_type_config` decoded exactly as Go's encoding/json; undefined for JSON `null`. */
export function parseSampleTypeConfig(bytes: Uint8Array): SampleTypeConfigMap | undefined {
  let m;
  try {
    m = parseConfigGo(bytes);
  } catch (e) {
    if (isProtocolError(e)) return convert(e);
    throw new DecodeError(
      'malformed',
      `sample_type_config: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
  if (m === undefined) return undefined;
  const out: SampleTypeConfigMap = {};
  for (const [k, v] of m) {
    if (v === null) {
      out[k] = null;
      continue;
    }
    const c: NonNullable<SampleTypeConfigMap[string]> = {};
    if (v.units !== undefined) c.units = v.units;
    if (v.displayName !== undefined) c['display-name'] = v.displayName;
    if (v.aggregation !== undefined) c.aggregation = v.aggregation;
    if (v.cumulative !== undefined) c.cumulative = v.cumulative;
    if (v.sampled !== undefined) c.sampled = v.sampled;
    out[k] = c;
  }
  return out;
}

/** A Push request body: protobuf, or protojson when the content type says JSON. */
export function decodePushBody(body: Uint8Array, contentType: string): PushSeriesInput[] {
  try {
    const req = /json/i.test(contentType) ? decodePushRequestJson(body) : decodePushProto(body);
    return req.series.map((s) => ({
      labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
      samples: s.samples.map((x) => ({ rawProfile: x.rawProfile, id: x.id })),
    }));
  } catch (e) {
    if (isProtocolError(e)) return convert(e);
    throw new DecodeError('malformed', `push: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}
