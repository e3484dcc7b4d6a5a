import type { PyroscopeEndpointConfig } from '../../runtime/config.js';
import { PyroscopeBackend } from './pyroscope-backend.js';

/** A Pyroscope backend from its validated config entry (backends.pyroscope[i]). */
export function pyroscopeBackendFromConfig(ep: PyroscopeEndpointConfig): PyroscopeBackend {
  return new PyroscopeBackend({
    name: ep.name,
    url: ep.url,
    tenantOrgIds: ep.tenants,
    auth: ep.bearerToken
      ? { bearer: ep.bearerToken }
      : ep.basicAuth
        ? { basic: ep.basicAuth }
        : null,
    headers: ep.headers,
    compression: ep.compression,
    maxRequestBytes: ep.batch.maxRequestBytes,
    sending: {
      timeoutMs: ep.timeout,
      rejectOlderThanMs: ep.rejectOlderThan,
      retry: {
        enabled: ep.retry.enabled,
        initialIntervalMs: ep.retry.initialInterval,
        maxIntervalMs: ep.retry.maxInterval,
        multiplier: ep.retry.multiplier,
        randomizationFactor: ep.retry.randomizationFactor,
        maxElapsedMs: ep.retry.maxElapsed,
      },
      batch: {
        maxItems: ep.batch.maxSeries,
        maxBytes: Math.min(ep.batch.maxBytes, ep.batch.maxRequestBytes),
        flushIntervalMs: ep.batch.flushInterval,
        maxInFlightBytes: ep.batch.maxInFlightBytes,
      },
    },
  });
}
