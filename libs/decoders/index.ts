export * from './decode-error.js';
export * from './decoder.js';
export * from './registry.js';
export { foldedDecoder, parseGroups, parseLines } from './folded/folded.decoder.js';
export { StackTree, legacySeries, treeToProfile } from './legacy.js';
export type { LegacyUpload, LegacyMetadata } from './legacy.js';
export { finishSeries } from './series-pipeline.js';
export type { RawSeries } from './series-pipeline.js';
export { validateProfile } from './validate.js';
