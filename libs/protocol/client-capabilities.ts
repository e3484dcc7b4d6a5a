// What a query client says it can take, from its Accept header, as Grafana Pyroscope reads it
// (`pkg/featureflags/client_capability.go`): every comma-separated media range is parsed with
// Go's mime.ParseMediaType; a parameter `allow-utf8-labelnames=true` on any of them lets the
// answers show label names outside the legacy Prometheus charset (`otel.scope.name`). A range
// that does not parse refuses the request (400 `Invalid header format: <Go's message>`).
import { parseMediaType } from './media-type.js';

export interface ClientCapabilities {
  allowUtf8LabelNames: boolean;
}

/** Throws MediaTypeError (Go's message) for an Accept value that does not parse. */
export function parseClientCapabilities(
  accept: string | readonly string[] | undefined,
): ClientCapabilities {
  const values = accept === undefined ? [] : typeof accept === 'string' ? [accept] : accept;
  const caps: ClientCapabilities = { allowUtf8LabelNames: false };
  for (const value of values) {
    if (value === '') continue;
    for (const range of value.split(',')) {
      const { params } = parseMediaType(range);
      if (params.get('allow-utf8-labelnames') === 'true') caps.allowUtf8LabelNames = true;
    }
  }
  return caps;
}

/** Prometheus' legacy label-name charset (`model.LegacyValidation`): `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isLegacyLabelName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);
}
