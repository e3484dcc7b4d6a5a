// Test support shared by the decoder specs (pure: builds inputs, reads nothing).

import type { IngestParams, UploadFormat } from '../protocol/index.js';
import type { DecodeInput } from './decoder.js';

/** Ingest parameters with the /ingest defaults; `name` like `app.cpu{k=v}` (simple form only). */
export function ingestParams(name: string, over: Partial<IngestParams> = {}): IngestParams {
  const brace = name.indexOf('{');
  const appName = brace < 0 ? name : name.slice(0, brace);
  const labels: Record<string, string> = {};
  if (brace >= 0) {
    for (const pair of name.slice(brace + 1, name.lastIndexOf('}')).split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
  }
  return {
    name,
    appName,
    labels,
    fromNanos: '1700000000000000000',
    untilNanos: '1700000010000000000',
    sampleRate: 100,
    spyName: 'unknown',
    units: 'samples',
    aggregationType: 'sum',
    formatParam: '',
    ...over,
  };
}

export function uploadInput(
  format: UploadFormat,
  body: Uint8Array | string,
  name: string,
  over: Partial<IngestParams> = {},
): DecodeInput {
  return {
    format,
    body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
    params: ingestParams(name, over),
    contentType: '',
    nowNanos: 1700000005000000000n,
  };
}
