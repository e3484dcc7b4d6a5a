export {
  UploadStructureError,
  invalidUtf8At,
  scanPprofStructure,
  type PprofStructure,
  type UploadStructureKind,
  type PprofStructureOptions,
} from './pprof-structure.js';
export { scanGzipJfrPrefix, scanJfrStructure } from './jfr-structure.js';
