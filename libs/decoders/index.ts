// Public API of the decoders library: one upload in (`decodeUpload` / `DecoderRegistry`), the
// normalised series Pyroscope would store out, or a DecodeError.
export * from './decode-error.js';
export * from './decoder.js';
export * from './registry.js';
export { decodedSeries, finishSeries } from './series-pipeline.js';
export type { RawSeries } from './series-pipeline.js';
export { validateFlatProfile, validateProfile } from './validate.js';
export { ByteReader } from './byte-reader.js';
export { StackTree, legacySeries, treeToProfile } from './legacy.js';
export type { LegacyUpload, LegacyMetadata } from './legacy.js';
export { foldedDecoder, parseGroups, parseLines } from './folded/folded.decoder.js';
export { treeDecoder, parseTree } from './tree/tree.decoder.js';
export { trieDecoder, parseTrie, iterateTrie } from './trie/trie.decoder.js';
export { speedscopeDecoder, SPEEDSCOPE_SCHEMA } from './speedscope/speedscope.decoder.js';
export { pprofDecoder, formField, decodeIngestPprof } from './pprof/pprof.decoder.js';
export { decodePprofBytes, inflatePprof } from './pprof/pprof-bytes.js';
export { pushDecoder } from './push/push.decoder.js';
export { jfrDecoder } from './jfr-decoder.js';
export { decodePushBody, parseSampleTypeConfig, readFormParts } from './protocol-bridge.js';
export { otlpProfilesDecoder } from './otlp/otlp-profiles.decoder.js';
export { convertExportRequest, serviceNameOf } from './otlp/otlp-convert.js';
export * from './structure/index.js';
