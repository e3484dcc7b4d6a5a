export * from './ingest-params.js';
