export * from './config.js';
export * from './targets.js';
export * from './bootstrap.js';
