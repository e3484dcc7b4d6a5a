export * from './profile.js';
export * from './profile-builder.js';
export * from './pipeline-errors.js';
export * from './pprof/index.js';
