// OTLP profiles (opentelemetry-proto v1.10.0, profiles v1development) to Pyroscope's series, as
// Pyroscope's `pkg/ingester/otlp` converts them (ingest_handler.go `export`, convert.go
// `ConvertOtelToGoogle`):
//   - one series per profile and per `service.name` sample attribute (samples without one go to
//     the resource's service): labels `__delta__=false`, `__otel__=true`, `__name__`, then the
//     resource's and the scope's attributes (first occurrence of a key wins; string and integer
//     values, or a one-element array of one), then `service_name`: the sample's, else the
//     resource's `service.name`, else `unknown_service` (`unknown_service:<exe>` when the
//     resource has `process.executable.name`);
//   - the profile type from the sample type and period type: `samples:count:cpu:nanoseconds`
//     becomes `process_cpu` with cpu/nanoseconds values (count × period), `off_cpu:nanoseconds`
//     without period becomes `off_cpu` (values summed), any other takes its name from the third
//     part (the period type), and without a name `process_cpu`;
//   - sample attributes become pprof labels (except `service.name`), a sample's link becomes
//     `span_id` and, with a 16-byte trace id, `trace_id` (hex), so span profiles work;
//   - a sample without values counts its timestamps; time 0 is "now", duration 0 is 10 s.
// Differences, on purpose: a mapping is converted once (Pyroscope appends a copy per sample),
// and a bad attribute index on a sample is an error (Pyroscope silently drops the profile).

import type { Int64, LabelPair, Profile } from '../../model/index.js';
import { emptyProfile } from '../../model/index.js';
import type {
  AnyValue,
  ExportProfilesServiceRequest,
  KeyValue,
  OtlpProfile,
  OtlpProfilesDictionary,
  OtlpSample,
} from './otlp-types.js';
import { DecodeError } from '../decode-error.js';

export const SERVICE_NAME_FALLBACK = 'unknown_service';

export interface ConvertedSeries {
  labels: LabelPair[];
  profile: Profile;
}

function invalid(message: string): DecodeError {
  return new DecodeError('invalid_profile', `failed to convert otel profile: ${message}`);
}

function at<T>(table: readonly T[], i: number, what: string): T {
  if (i >= 0 && i < table.length) return table[i];
  throw invalid(`could not access ${what}: index ${i} out of bounds`);
}

function singleValue(v: AnyValue | undefined): string {
  if (v === undefined) return '';
  const k = v.value;
  if (k.case === 'stringValue') return k.value;
  if (k.case === 'intValue') return k.value.toString();
  return '';
}

/** Pyroscope's `stringValueFromAnyValue`: a string or integer, or a one-element array of one. */
export function attributeString(v: AnyValue | undefined): string {
  const s = singleValue(v);
  if (s !== '' || v === undefined) return s;
  if (v.value.case === 'arrayValue' && v.value.value.values.length === 1)
    return singleValue(v.value.value.values[0]);
  return '';
}

export function serviceNameOf(attrs: readonly KeyValue[]): string {
  let fallback = SERVICE_NAME_FALLBACK;
  for (const a of attrs) {
    if (a.key === 'service.name') {
      const s = attributeString(a.value);
      if (s !== '') return s;
    }
    if (a.key === 'process.executable.name') {
      const s = attributeString(a.value);
      if (s !== '') fallback += `:${s}`;
    }
  }
  return fallback;
}

function appendUnique(labels: LabelPair[], attrs: readonly KeyValue[], seen: Set<string>): void {
  for (const a of attrs) {
    if (seen.has(a.key)) continue;
    const s = attributeString(a.value);
    if (s === '') continue;
    labels.push({ name: a.key, value: s });
    seen.add(a.key);
  }
}

function attributeOf(
  indices: readonly number[],
  dict: OtlpProfilesDictionary,
  key: string,
): string {
  for (const i of indices) {
    const a = at(dict.attributeTable, i, 'attribute');
    if (at(dict.stringTable, a.keyStrindex, 'attribute key string') === key)
      return attributeString(a.value);
  }
  return '';
}

const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

type Conversion = 'none' | 'samples_to_nanos' | 'sum_events';

/** Builds one pprof profile from the samples of one OTLP profile that share a service. */
class ProfileBuilder {
  readonly dst: Profile = emptyProfile();
  name = 'process_cpu';
  private conversion: Conversion = 'none';
  private readonly strings = new Map<string, number>([['', 0]]);
  private readonly functions = new Map<number, number>();
  private readonly locations = new Map<number, number>();
  private readonly mappings = new Map<number, number>();

  constructor(
    private readonly src: OtlpProfile,
    private readonly dict: OtlpProfilesDictionary,
    nowNanos: Int64,
  ) {
    const d = this.dst;
    d.timeNanos = src.timeUnixNano;
    d.durationNanos = src.durationNano;
    d.period = src.period;
    if (src.sampleType === undefined) throw invalid('sample type is missing');
    const st = this.valueType(src.sampleType.typeStrindex, src.sampleType.unitStrindex);
    d.sampleType = [st];
    if (src.periodType !== undefined)
      d.periodType = this.valueType(src.periodType.typeStrindex, src.periodType.unitStrindex);
    d.defaultSampleType = st.type;
    const hasPeriod = d.periodType !== undefined && BigInt(d.period) !== 0n;
    const profileType = [
      d.stringTable[st.type],
      d.stringTable[st.unit],
      hasPeriod ? d.stringTable[d.periodType!.type] : '',
      hasPeriod ? d.stringTable[d.periodType!.unit] : '',
    ].join(':');
    if (profileType === 'samples:count:cpu:nanoseconds') {
      d.sampleType = [{ type: this.str('cpu'), unit: this.str('nanoseconds') }];
      this.name = 'process_cpu';
      this.conversion = 'samples_to_nanos';
    } else if (profileType === 'off_cpu:nanoseconds::') {
      this.name = 'off_cpu';
      this.conversion = 'sum_events';
    } else {
      this.name = profileType.split(':')[2];
    }
    if (BigInt(d.timeNanos) === 0n) d.timeNanos = nowNanos;
    if (BigInt(d.durationNanos) === 0n) d.durationNanos = 10_000_000_000n;
  }

  private str(s: string): number {
    let i = this.strings.get(s);
    if (i === undefined) {
      i = this.dst.stringTable.length;
      this.dst.stringTable.push(s);
      this.strings.set(s, i);
    }
    return i;
  }

  private dictStr(i: number, what: string): string {
    return at(this.dict.stringTable, i, what);
  }

  private valueType(type: number, unit: number): { type: number; unit: number } {
    return {
      type: this.str(this.dictStr(type, 'type string')),
      unit: this.str(this.dictStr(unit, 'unit string')),
    };
  }

  addSample(s: OtlpSample): void {
    let values: bigint[] = [...s.values];
    if (values.length === 0 && s.timestampsUnixNano.length > 0)
      values = [BigInt(s.timestampsUnixNano.length)];
    if (values.length === 0) throw invalid('sample value is required');
    if (this.conversion === 'samples_to_nanos') values[0] *= BigInt(this.src.period);
    else if (this.conversion === 'sum_events') values = [values.reduce((a, b) => a + b, 0n)];
    const d = this.dst;
    if (
      BigInt(d.period) !== 0n &&
      d.periodType !== undefined &&
      values.length !== d.sampleType.length
    )
      throw invalid(`sample values length mismatch ${values.length} ${d.sampleType.length}`);

    const label: Profile['sample'][number]['label'] = [];
    for (const ai of s.attributeIndices) {
      const a = at(this.dict.attributeTable, ai, 'attribute');
      const key = this.dictStr(a.keyStrindex, 'attribute key');
      if (key === 'service.name') continue;
      const v = attributeString(a.value);
      if (v !== '') label.push({ key: this.str(key), str: this.str(v), num: 0, numUnit: 0 });
    }
    if (s.linkIndex !== 0) {
      const link = at(this.dict.linkTable, s.linkIndex, 'link');
      label.push({ key: this.str('span_id'), str: this.str(hex(link.spanId)), num: 0, numUnit: 0 });
      if (link.traceId.length === 16)
        label.push({
          key: this.str('trace_id'),
          str: this.str(hex(link.traceId)),
          num: 0,
          numUnit: 0,
        });
    }

    const stack = at(this.dict.stackTable, s.stackIndex, 'stack');
    const byMapping = new Map<number, number[]>();
    for (const li of stack.locationIndices) {
      const loc = at(this.dict.locationTable, li, 'location');
      at(this.dict.mappingTable, loc.mappingIndex, 'mapping');
      const list = byMapping.get(loc.mappingIndex) ?? [];
      list.push(li);
      byMapping.set(loc.mappingIndex, list);
    }
    for (const [mi, locs] of byMapping) this.mapping(mi, locs);
    const locationId = stack.locationIndices.map((li) => this.location(li));
    d.sample.push({ locationId, value: values, label });
  }

  private mapping(mi: number, locs: readonly number[]): number {
    const known = this.mappings.get(mi);
    if (known !== undefined) return known;
    const om = this.dict.mappingTable[mi];
    // Symbol flags: a mapping has functions, file names, lines, inline frames only when every
    // location pointing at it (in the sample that first uses it) does.
    let hasLines = true;
    let hasFunctions = true;
    let hasInlineFrames = true;
    let hasFilenames = true;
    for (const li of locs) {
      const ol = this.dict.locationTable[li];
      if (ol.lines.length === 0) {
        hasLines = hasFunctions = hasInlineFrames = hasFilenames = false;
        break;
      }
      ol.lines.forEach((line, i) => {
        hasFunctions &&= line.functionIndex > 0;
        hasLines &&= line.line > 0n;
        hasInlineFrames &&= i >= 1;
        if (line.functionIndex > 0) {
          const f = this.dict.functionTable[line.functionIndex];
          if (f !== undefined) hasFilenames &&= f.filenameStrindex > 0;
        }
      });
    }
    const buildId = attributeOf(om.attributeIndices, this.dict, 'process.executable.build_id.gnu');
    const id = this.dst.mapping.length + 1;
    this.dst.mapping.push({
      id,
      memoryStart: om.memoryStart,
      memoryLimit: om.memoryLimit,
      fileOffset: om.fileOffset,
      filename: this.str(this.dictStr(om.filenameStrindex, 'mapping file name string')),
      buildId: this.str(buildId),
      hasFunctions,
      hasFilenames,
      hasLineNumbers: hasLines,
      hasInlineFrames,
    });
    this.mappings.set(mi, id);
    return id;
  }

  private location(li: number): number {
    const known = this.locations.get(li);
    if (known !== undefined) return known;
    const ol = this.dict.locationTable[li];
    const mappingId = this.mappings.get(ol.mappingIndex);
    if (mappingId === undefined) throw invalid('mapping not found in mappingMap');
    const line = ol.lines.map((l) => ({
      functionId: this.function(l.functionIndex),
      line: l.line,
      column: 0,
    }));
    const id = this.dst.location.length + 1;
    this.dst.location.push({ id, mappingId, address: ol.address, line, isFolded: false });
    this.locations.set(li, id);
    return id;
  }

  private function(fi: number): number {
    const known = this.functions.get(fi);
    if (known !== undefined) return known;
    const f = at(this.dict.functionTable, fi, 'function');
    const id = this.dst.function.length + 1;
    this.dst.function.push({
      id,
      name: this.str(this.dictStr(f.nameStrindex, 'function name string')),
      systemName: this.str(this.dictStr(f.systemNameStrindex, 'function system name string')),
      filename: this.str(this.dictStr(f.filenameStrindex, 'function file name string')),
      startLine: f.startLine,
    });
    this.functions.set(fi, id);
    return id;
  }
}

/**
 * Every series of an ExportProfilesServiceRequest, before the distributor steps (finishSeries).
 * Throws DecodeError `invalid_profile` for a request Pyroscope would answer InvalidArgument.
 */
export function convertExportRequest(
  req: ExportProfilesServiceRequest,
  nowNanos: Int64,
): ConvertedSeries[] {
  const dict = req.dictionary;
  if (dict === undefined)
    throw new DecodeError('invalid_profile', 'missing profile metadata dictionary');
  const out: ConvertedSeries[] = [];
  for (const rp of req.resourceProfiles) {
    const resourceAttrs = rp.resource?.attributes ?? [];
    const serviceName = serviceNameOf(resourceAttrs);
    for (const sp of rp.scopeProfiles) {
      for (const p of sp.profiles) {
        const bySvc = new Map<string, ProfileBuilder>();
        for (const s of p.samples) {
          const svc = attributeOf(s.attributeIndices, dict, 'service.name');
          let b = bySvc.get(svc);
          if (b === undefined) {
            b = new ProfileBuilder(p, dict, nowNanos);
            bySvc.set(svc, b);
          }
          b.addSample(s);
        }
        for (const [svc, b] of bySvc) {
          const labels: LabelPair[] = [
            { name: '__delta__', value: 'false' },
            { name: '__otel__', value: 'true' },
            { name: '__name__', value: b.name },
          ];
          const seen = new Set(['__name__']);
          appendUnique(labels, resourceAttrs, seen);
          appendUnique(labels, sp.scope?.attributes ?? [], seen);
          labels.push({ name: 'service_name', value: svc !== '' ? svc : serviceName });
          out.push({ labels, profile: b.dst });
        }
      }
    }
  }
  return out;
}
