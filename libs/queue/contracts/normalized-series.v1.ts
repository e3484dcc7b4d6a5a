import type { IncomingMessage, OutgoingMessage } from '../queue.port.js';
import { PermanentError, flatHeapBytes, type FlatProfile } from '../../model/index.js';
import { TOPICS } from '../topics.js';

// profiles.normalized.v1: one series, ready for any backend. It maps one-to-one onto a
// RawProfileSeries of the Push API (labels + one raw pprof), so the Pyroscope backend needs no
// conversion. The value is the uncompressed pprof bytes.
//
// A series too large for one record travels as parts (docs/adr/0008): records with the same
// labels, time range and profile id, each holding a disjoint share of the samples, with
// `ember-part: k/n`. Each part has its own series id (the delivery-dedupe key); backends see
// the parts of one profile as one profile's samples.

export const NORMALIZED_SERIES_TOPIC = TOPICS.normalized;
export const NORMALIZED_SERIES_SCHEMA = 'normalized-series.v1';

export interface SeriesLabel {
  name: string;
  value: string;
}

export interface SeriesPart {
  /** 1-based */
  index: number;
  count: number;
}

export interface NormalizedSeries {
  /** deterministic: `${uploadId}:${index}` (a part: `${uploadId}:${index}#k/n`); the delivery-dedupe key */
  seriesId: string;
  /**
   * The profile this record belongs to: the series id of a whole series, shared by the parts of
   * a split one. Absent on records written before parts existed (then: the series id).
   */
  profileId?: string;
  /** set on parts of a split series only */
  part?: SeriesPart;
  uploadId: string;
  tenant: string;
  /** sorted by name, unique names */
  labels: SeriesLabel[];
  /** profile type id, `__name__:sample_type:unit:period_type:period_unit` of the first sample type */
  profileTypeIds: string[];
  startMs: number;
  endMs: number;
  pprof: Buffer;
  /**
   * In-process only: the profile `pprof` encodes, in the flat model, when the decoder runs in
   * this process (the in-process queue hands it over; Kafka does not). Read-only for
   * consumers; absent, they decode `pprof`.
   */
  profile?: FlatProfile;
  /**
   * In-process only: the embedded store's compact form of that profile
   * (`encodeCompact(compactFlat(profile))`, model/compact), built by a decode worker so that the
   * store on this thread only writes the row. Read-only for consumers; absent, the store builds it.
   */
  compact?: Uint8Array;
}

/**
 * What a normalised record hands over beside its pprof (OutgoingMessage.local): the decoded
 * profile (inline decodes), and/or the store's compact form (decodes on a worker thread).
 */
interface LocalProfile {
  kind: 'flat-profile';
  profile?: FlatProfile;
  compact?: Uint8Array;
}

const H = {
  schema: 'ember-schema',
  seriesId: 'ember-series-id',
  uploadId: 'ember-upload-id',
  tenant: 'ember-tenant',
  labels: 'ember-labels',
  types: 'ember-profile-types',
  start: 'ember-start-ms',
  end: 'ember-end-ms',
} as const;

/** Headers that a record may carry (absent on records of older writers). */
const OPTIONAL = {
  profileId: 'ember-profile-id',
  part: 'ember-part',
} as const;

/** The series id of part k of n of a series. */
export function partSeriesId(seriesId: string, part: SeriesPart): string {
  return `${seriesId}#${part.index}/${part.count}`;
}

export function encodeNormalizedSeries(s: NormalizedSeries): OutgoingMessage {
  const service = s.labels.find((l) => l.name === 'service_name')?.value ?? '';
  return {
    key: `${s.tenant}/${service}`,
    value: s.pprof,
    headers: {
      [H.schema]: NORMALIZED_SERIES_SCHEMA,
      [H.seriesId]: s.seriesId,
      [H.uploadId]: s.uploadId,
      [H.tenant]: s.tenant,
      [H.labels]: JSON.stringify(s.labels),
      [H.types]: JSON.stringify(s.profileTypeIds),
      [H.start]: String(s.startMs),
      [H.end]: String(s.endMs),
      [OPTIONAL.profileId]: s.profileId ?? s.seriesId,
      ...(s.part ? { [OPTIONAL.part]: `${s.part.index}/${s.part.count}` } : {}),
    },
    ...(s.profile || s.compact
      ? {
          local: {
            value: {
              kind: 'flat-profile',
              ...(s.profile ? { profile: s.profile } : {}),
              ...(s.compact ? { compact: s.compact } : {}),
            } satisfies LocalProfile,
            bytes: (s.profile ? flatHeapBytes(s.profile) : 0) + (s.compact?.byteLength ?? 0),
          },
        }
      : {}),
  };
}

export function decodeNormalizedSeries(m: IncomingMessage): NormalizedSeries {
  const h = m.headers;
  if (h[H.schema] !== NORMALIZED_SERIES_SCHEMA) {
    throw new PermanentError(
      `not a ${NORMALIZED_SERIES_SCHEMA} message (schema=${h[H.schema]})`,
      'bad_message',
    );
  }
  const missing = Object.values(H).filter((k) => h[k] === undefined);
  if (missing.length > 0) {
    throw new PermanentError(
      `normalized series is missing headers: ${missing.join(', ')}`,
      'bad_message',
    );
  }
  let labels: SeriesLabel[];
  let types: string[];
  try {
    labels = JSON.parse(h[H.labels]) as SeriesLabel[];
    types = JSON.parse(h[H.types]) as string[];
  } catch (err) {
    throw new PermanentError('normalized series headers are not JSON', 'bad_message', {
      cause: err,
    });
  }
  if (!Array.isArray(labels) || !Array.isArray(types)) {
    throw new PermanentError('normalized series labels are malformed', 'bad_message');
  }
  let part: SeriesPart | undefined;
  if (h[OPTIONAL.part] !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(h[OPTIONAL.part]);
    const index = m ? Number(m[1]) : NaN;
    const count = m ? Number(m[2]) : NaN;
    if (!(index >= 1 && index <= count)) {
      throw new PermanentError(
        `normalized series part is malformed: ${h[OPTIONAL.part]}`,
        'bad_message',
      );
    }
    part = { index, count };
  }
  return {
    seriesId: h[H.seriesId],
    profileId: h[OPTIONAL.profileId] ?? h[H.seriesId],
    ...(part ? { part } : {}),
    uploadId: h[H.uploadId],
    tenant: h[H.tenant],
    labels,
    profileTypeIds: types,
    startMs: Number(h[H.start]),
    endMs: Number(h[H.end]),
    pprof: m.value,
    ...localProfile(m),
  };
}

function localProfile(m: IncomingMessage): { profile?: FlatProfile; compact?: Uint8Array } {
  const v = m.local?.value as LocalProfile | undefined;
  if (v?.kind !== 'flat-profile') return {};
  return {
    ...(v.profile ? { profile: v.profile } : {}),
    ...(v.compact ? { compact: v.compact } : {}),
  };
}

export const NORMALIZED_SERIES_HEADERS = { ...H, ...OPTIONAL };
