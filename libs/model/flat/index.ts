export * from './flat-profile.js';
export {
  dropUnusedFlat,
  hashSample,
  normalizeFlat,
  truncateStacksFlat,
  visitStringRefsFlat,
} from './normalize-flat.js';
export { renameSampleLabelFlat, splitFlatBySampleLabels } from './split-flat.js';
export type { FlatSplitSeries } from './split-flat.js';
export { sampleTypesWithValues } from './sample-types-with-values.js';
