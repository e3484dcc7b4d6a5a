// The Connect JSON form of PushRequest (protojson): camelCase names on output, either the JSON
// name or the proto field name accepted on input, bytes as base64 (standard or URL-safe, padding
// optional), unknown fields ignored (connect-go decodes with DiscardUnknown), `null` = default.
import type {
  LabelPair,
  ProfileAnnotation,
  PushRequest,
  RawProfileSeries,
  RawSample,
} from './push-request.js';
import { MAX_JSON_DEPTH, jsonPreview, jsonTooDeepAt } from '../json-limits.js';

export class PushJsonError extends Error {
  override readonly name = 'PushJsonError';
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

/** protojson output: defaults and empty lists omitted, so an empty request is `{}`. */
export function pushRequestToJson(req: PushRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (req.series.length > 0) {
    out.series = req.series.map((s) => {
      const o: Record<string, unknown> = {};
      if (s.labels.length > 0) o.labels = s.labels.map((l) => pair('name', l.name, l.value));
      if (s.samples.length > 0) {
        o.samples = s.samples.map((x) => {
          const so: Record<string, unknown> = {};
          if (x.rawProfile.length > 0) so.rawProfile = b64(x.rawProfile);
          if (x.id !== '') so.ID = x.id;
          return so;
        });
      }
      if (s.annotations.length > 0) {
        o.annotations = s.annotations.map((a) => pair('key', a.key, a.value));
      }
      return o;
    });
  }
  return out;
}

function pair(first: string, a: string, b: string): Record<string, string> {
  const o: Record<string, string> = {};
  if (a !== '') o[first] = a;
  if (b !== '') o.value = b;
  return o;
}

export function encodePushRequestJson(req: PushRequest): string {
  return JSON.stringify(pushRequestToJson(req));
}

type Obj = Record<string, unknown>;

function field(o: Obj, jsonName: string, protoName: string): unknown {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(o, k);
  if (has(jsonName) && jsonName !== protoName && has(protoName)) {
    throw new PushJsonError(`duplicate field "${protoName}"`);
  }
  if (has(jsonName)) return o[jsonName];
  if (has(protoName)) return o[protoName];
  return undefined;
}

function asObject(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new PushJsonError(`invalid value for ${what}: ${jsonPreview(v)}`);
  }
  return v as Obj;
}

function list(o: Obj, jsonName: string, protoName: string, what: string): Obj[] {
  const v = field(o, jsonName, protoName);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PushJsonError(`invalid value for repeated field ${what}`);
  return v.map((e) => asObject(e, what));
}

function str(o: Obj, jsonName: string, protoName: string, what: string): string {
  const v = field(o, jsonName, protoName);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string')
    throw new PushJsonError(`invalid value for string field ${what}: ${jsonPreview(v)}`);
  return v;
}

/**
 * protojson's bytes rule: the URL-safe alphabet when the text holds `-` or `_`, else the standard
 * one; padded when the length is a multiple of 4, unpadded otherwise.
 */
function bytes(o: Obj, what: string): Uint8Array {
  const v = field(o, 'rawProfile', 'raw_profile');
  if (v === undefined || v === null) return new Uint8Array(0);
  const bad = () => new PushJsonError(`invalid value for bytes field ${what}: ${jsonPreview(v)}`);
  if (typeof v !== 'string') throw bad();
  const urlSafe = /[-_]/.test(v);
  const alphabet = urlSafe ? '[A-Za-z0-9_-]' : '[A-Za-z0-9+/]';
  const padded = v.length % 4 === 0;
  const re = new RegExp(`^${alphabet}*${padded ? '={0,2}' : ''}$`);
  if (!re.test(v) || (!padded && v.length % 4 === 1)) throw bad();
  if (padded && v.length > 0 && /={1,2}$/.test(v) && v.replace(/=+$/, '').length % 4 < 2)
    throw bad();
  return new Uint8Array(Buffer.from(v, urlSafe ? 'base64url' : 'base64'));
}

/** Decodes the JSON form; throws `PushJsonError` for anything protojson would reject. */
export function decodePushRequestJson(text: string | Uint8Array): PushRequest {
  const s =
    typeof text === 'string' ? text : new TextDecoder('utf-8', { ignoreBOM: true }).decode(text);
  const deep = jsonTooDeepAt(s);
  if (deep >= 0)
    throw new PushJsonError(
      `exceeded max recursion depth (${MAX_JSON_DEPTH} nested arrays or objects) at offset ${deep}`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(s);
  } catch (e) {
    throw new PushJsonError(`syntax error: ${(e as Error).message}`);
  }
  const root = asObject(doc, 'push.v1.PushRequest');
  return {
    series: list(root, 'series', 'series', 'push.v1.PushRequest.series').map(
      (so): RawProfileSeries => ({
        labels: list(so, 'labels', 'labels', 'push.v1.RawProfileSeries.labels').map(
          (l): LabelPair => ({
            name: str(l, 'name', 'name', 'types.v1.LabelPair.name'),
            value: str(l, 'value', 'value', 'types.v1.LabelPair.value'),
          }),
        ),
        samples: list(so, 'samples', 'samples', 'push.v1.RawProfileSeries.samples').map(
          (x): RawSample => ({
            rawProfile: bytes(x, 'push.v1.RawSample.raw_profile'),
            id: str(x, 'ID', 'ID', 'push.v1.RawSample.ID'),
          }),
        ),
        annotations: list(
          so,
          'annotations',
          'annotations',
          'push.v1.RawProfileSeries.annotations',
        ).map((a): ProfileAnnotation => ({
          key: str(a, 'key', 'key', 'types.v1.ProfileAnnotation.key'),
          value: str(a, 'value', 'value', 'types.v1.ProfileAnnotation.value'),
        })),
      }),
    ),
  };
}
