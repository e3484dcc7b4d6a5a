export * from './discard-reasons.js';
export * from './metrics.js';
export * from './health.js';
