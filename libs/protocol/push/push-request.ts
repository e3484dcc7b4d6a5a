// push.v1.PushRequest and the messages it carries (pyroscope-protocol.md §2.1), encoded and
// decoded by hand. Field numbers:
//   PushRequest      { repeated RawProfileSeries series = 1; }
//   RawProfileSeries { repeated types.v1.LabelPair labels = 1; repeated RawSample samples = 2;
//                      repeated types.v1.ProfileAnnotation annotations = 3; }
//   RawSample        { bytes raw_profile = 1; string ID = 2; }
//   LabelPair        { string name = 1; string value = 2; }
//   ProfileAnnotation{ string key = 1; string value = 2; }
// Decoding keeps unknown fields out, accepts fields in any order and repeated scalars (last wins),
// as protobuf requires. `rawProfile` is a view into the input buffer (no copy).
import {
  ProtoReader,
  ProtoWriter,
  WIRE_BYTES,
  WireError,
  decodeUtf8,
  decodeUtf8Strict,
} from './wire.js';

export interface LabelPair {
  name: string;
  value: string;
}

export interface ProfileAnnotation {
  key: string;
  value: string;
}

export interface RawSample {
  /** pprof bytes, gzipped or not */
  rawProfile: Uint8Array;
  /** the sample's `ID` (a UUID string, may be empty) */
  id: string;
}

export interface RawProfileSeries {
  labels: LabelPair[];
  samples: RawSample[];
  /** dropped by Pyroscope's distributor, kept here for fidelity */
  annotations: ProfileAnnotation[];
}

export interface PushRequest {
  series: RawProfileSeries[];
}

function writeLabelPair(w: ProtoWriter, p: LabelPair): void {
  w.string(1, p.name);
  w.string(2, p.value);
}

function writeAnnotation(w: ProtoWriter, a: ProfileAnnotation): void {
  w.string(1, a.key);
  w.string(2, a.value);
}

function writeSample(w: ProtoWriter, s: RawSample): void {
  if (s.rawProfile.length > 0) w.bytes(1, s.rawProfile);
  w.string(2, s.id);
}

function writeSeries(w: ProtoWriter, s: RawProfileSeries): void {
  for (const l of s.labels) w.message(1, (m) => writeLabelPair(m, l));
  for (const x of s.samples) w.message(2, (m) => writeSample(m, x));
  for (const a of s.annotations) w.message(3, (m) => writeAnnotation(m, a));
}

/** Binary proto3 encoding (fields in number order, defaults omitted, as Go's marshaller). */
export function encodePushRequest(req: PushRequest): Uint8Array {
  const w = new ProtoWriter(1024);
  for (const s of req.series) w.message(1, (m) => writeSeries(m, s));
  return w.finish();
}

function expectBytes(wire: number, field: string): void {
  if (wire !== WIRE_BYTES)
    throw new WireError(`proto: wrong wireType = ${wire} for field ${field}`);
}

/** Set when a label name or value is not valid UTF-8; reported after the whole message decoded. */
interface DecodeState {
  invalidLabelUtf8: boolean;
}

function readPair(
  r: ProtoReader,
  msg: 'LabelPair' | 'ProfileAnnotation',
  first: 'Name' | 'Key',
  state: DecodeState,
): [string, string] {
  // Keep the last view of each field (a repeated scalar: last one wins), decode at the end.
  let a: Uint8Array | undefined;
  let b: Uint8Array | undefined;
  while (!r.done) {
    const { field, wire } = r.key(msg);
    if (field === 1) {
      expectBytes(wire, first);
      a = r.bytesView();
    } else if (field === 2) {
      expectBytes(wire, 'Value');
      b = r.bytesView();
    } else r.skip(wire, field, msg);
  }
  // Label names and values must be valid UTF-8 (Pyroscope's label validation rejects them).
  const text = (v: Uint8Array | undefined): string => {
    if (v === undefined) return '';
    if (msg !== 'LabelPair') return decodeUtf8(v);
    const s = decodeUtf8Strict(v);
    if (s !== undefined) return s;
    state.invalidLabelUtf8 = true;
    return '';
  };
  return [text(a), text(b)];
}

function sub(r: ProtoReader): ProtoReader {
  const n = r.length();
  const inner = new ProtoReader(r.buf, r.pos, r.pos + n);
  r.pos += n;
  return inner;
}

function readSample(r: ProtoReader): RawSample {
  const s: RawSample = { rawProfile: new Uint8Array(0), id: '' };
  while (!r.done) {
    const { field, wire } = r.key('RawSample');
    if (field === 1) {
      expectBytes(wire, 'RawProfile');
      s.rawProfile = r.bytesView();
    } else if (field === 2) {
      expectBytes(wire, 'ID');
      s.id = r.string();
    } else r.skip(wire, field, 'RawSample');
  }
  return s;
}

function readSeries(r: ProtoReader, state: DecodeState): RawProfileSeries {
  const s: RawProfileSeries = { labels: [], samples: [], annotations: [] };
  while (!r.done) {
    const { field, wire } = r.key('RawProfileSeries');
    if (field === 1) {
      expectBytes(wire, 'Labels');
      const [name, value] = readPair(sub(r), 'LabelPair', 'Name', state);
      s.labels.push({ name, value });
    } else if (field === 2) {
      expectBytes(wire, 'Samples');
      s.samples.push(readSample(sub(r)));
    } else if (field === 3) {
      expectBytes(wire, 'Annotations');
      const [key, value] = readPair(sub(r), 'ProfileAnnotation', 'Key', state);
      s.annotations.push({ key, value });
    } else r.skip(wire, field, 'RawProfileSeries');
  }
  return s;
}

/**
 * Decodes a binary PushRequest. Throws `WireError` with vtproto-like messages; `decodePushBody`
 * turns it into the Connect error Pyroscope would answer.
 */
export function decodePushRequest(bytes: Uint8Array): PushRequest {
  const r = new ProtoReader(bytes);
  const req: PushRequest = { series: [] };
  const state: DecodeState = { invalidLabelUtf8: false };
  while (!r.done) {
    const { field, wire } = r.key('PushRequest');
    if (field === 1) {
      expectBytes(wire, 'Series');
      req.series.push(readSeries(sub(r), state));
    } else r.skip(wire, field, 'PushRequest');
  }
  if (state.invalidLabelUtf8) {
    throw new WireError('proto: LabelPair: invalid UTF-8 in string field');
  }
  return req;
}
