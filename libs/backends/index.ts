// The backends library: where normalised series go (the Backend port), the sending chain that
// delivers them, the Pyroscope Push backend, and the embedded store with its query engine.
export * from './backend.port.js';
export * from './sending/batcher.js';
export * from './sending/retry.js';
export * from './sending/timeout.js';
export * from './sending/sending-chain.js';
export * from './pyroscope/push-client.js';
export * from './pyroscope/pyroscope-backend.js';
export * from './pyroscope/from-config.js';
export * from './embedded-store/embedded-store.js';
export * from './embedded-store/label-selector.js';
export * from './embedded-store/stack-tree.js';
export * from './embedded-store/compact-profile.js';
export * from './embedded-store/flamegraph-diff.js';
export * from './embedded-store/query-engine.js';
export * from './otlp/otlp-backend.js';
export * from './otlp/from-config.js';
export * from './embedded-store/span-store.js';
export * from './embedded-store/traceql.js';
export * from './embedded-store/span-links.js';
