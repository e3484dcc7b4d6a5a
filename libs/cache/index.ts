export * from './store.port.js';
export * from './memory/memory-store.js';
export * from './redis/redis-store.js';
export * from './sqlite/sqlite-store.js';
export * from './dedupe.service.js';
