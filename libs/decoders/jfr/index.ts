// Public API of the JFR decoder: JFR recording (+ LabelsSnapshot) → pprof profiles, as Pyroscope.
export { JfrError, type JfrErrorKind } from './errors.js';
export { DEFAULT_JFR_LIMITS, resolveLimits, type JfrLimits } from './limits.js';
export {
  decodeJfr,
  jfrToProfiles,
  type JfrDecodeResult,
  type JfrInput,
  type JfrProfile,
  type JfrStats,
} from './profile-mapper.js';
export { NameCache, DEFAULT_NAME_CACHE_LIMITS, type NameCacheLimits } from './name-cache.js';
export { FAMILIES, profileTypeIds, type FamilySpec, type JfrFamily } from './families.js';
export { decodeLabelsSnapshot, type LabelsSnapshot } from './labels-snapshot.js';
export { forEachChunk, JfrChunk, type ChunkVisitor } from './chunk-reader.js';
export { readChunkHeader, CHUNK_HEADER_SIZE, type ChunkHeader } from './chunk-header.js';
export { toCollapsed } from './collapsed.js';
