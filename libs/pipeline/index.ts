export * from './core/core.module.js';
export * from './core/tokens.js';
export * from './core/http-error.js';
export * from './ingest/ingest.module.js';
export * from './decode/decode.module.js';
export * from './export/export.module.js';
export * from './query/query.module.js';
export * from './health/health.module.js';
