import type { OtlpEndpointConfig } from '../../runtime/config.js';
import { OtlpBackend } from './otlp-backend.js';

/** One OtlpBackend per signal an endpoint takes (backends.otlp[i]). */
export function otlpBackendsFromConfig(ep: OtlpEndpointConfig): OtlpBackend[] {
  return ep.signals.map(
    (signal) =>
      new OtlpBackend({
        name: ep.name,
        url: ep.url,
        signal,
        headers: ep.headers,
        compression: ep.compression,
        sending: {
          timeoutMs: ep.timeout,
          rejectOlderThanMs: 0,
          retry: {
            enabled: ep.retry.enabled,
            initialIntervalMs: ep.retry.initialInterval,
            maxIntervalMs: ep.retry.maxInterval,
            multiplier: ep.retry.multiplier,
            randomizationFactor: ep.retry.randomizationFactor,
            maxElapsedMs: ep.retry.maxElapsed,
          },
          batch: {
            maxItems: ep.batch.maxRequests,
            maxBytes: ep.batch.maxBytes,
            flushIntervalMs: ep.batch.flushInterval,
            maxInFlightBytes: ep.batch.maxInFlightBytes,
          },
        },
      }),
  );
}
