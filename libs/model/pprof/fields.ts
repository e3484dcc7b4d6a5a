/**
 * The fields of each profile.proto message by field number (index 0 unused), under the names
 * Go's generated code gives them. A field number inside a list is a known field of that
 * message: sent with a wire type it does not take, it is refused with Go's message (the
 * vtprotobuf unmarshal Pyroscope's `pkg/pprof` RawFromBytes runs), `proto: wrong wireType = 5
 * for field Value`; past the end of a list the field is unknown and skipped. These are
 * google/pprof's fields, Line.column and Profile.doc_url included. The decoders' ingest scan
 * (`libs/decoders/structure`) refuses the same fields with the same message.
 */
// prettier-ignore
export const PPROF_FIELDS = {
  Profile: [
    '', 'SampleType', 'Sample', 'Mapping', 'Location', 'Function', 'StringTable', 'DropFrames',
    'KeepFrames', 'TimeNanos', 'DurationNanos', 'PeriodType', 'Period', 'Comment',
    'DefaultSampleType', 'DocUrl',
  ],
  ValueType: ['', 'Type', 'Unit'],
  Sample: ['', 'LocationId', 'Value', 'Label'],
  Label: ['', 'Key', 'Str', 'Num', 'NumUnit'],
  Mapping: [
    '', 'Id', 'MemoryStart', 'MemoryLimit', 'FileOffset', 'Filename', 'BuildId', 'HasFunctions',
    'HasFilenames', 'HasLineNumbers', 'HasInlineFrames',
  ],
  Location: ['', 'Id', 'MappingId', 'Address', 'Line', 'IsFolded'],
  Line: ['', 'FunctionId', 'Line', 'Column'],
  Function: ['', 'Id', 'Name', 'SystemName', 'Filename', 'StartLine'],
} as const satisfies Record<string, readonly string[]>;

export type PprofMessage = keyof typeof PPROF_FIELDS;

/** Go's text for a known field sent with the wrong wire type */
export function wrongWireTypeMessage(wire: number, field: string): string {
  return `proto: wrong wireType = ${wire} for field ${field}`;
}
