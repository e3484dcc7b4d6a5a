export { PprofDecodeError } from './errors.js';
export type { PprofDecodeErrorKind } from './errors.js';
export { decodePprof } from './profile-reader.js';
export type { PprofDecodeLimits } from './profile-reader.js';
export { encodePprof } from './profile-writer.js';
export { splitPprof, partOf } from './profile-parts.js';
export { decodePprofFlat } from './flat-reader.js';
export { encodePprofFlat } from './flat-writer.js';
