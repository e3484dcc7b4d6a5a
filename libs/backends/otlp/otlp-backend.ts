import { gzipSync } from 'node:zlib';
import { PermanentError, RetryableError } from '../../model/index.js';
import type { OtlpSignal } from '../../protocol/index.js';
import type { OtlpBatch } from '../../queue/index.js';
import type { SendTarget } from '../backend.port.js';
import { parseRetryAfter } from '../pyroscope/push-client.js';
import type { SendingOverrides } from '../sending/sending-chain.js';

// An OTLP/HTTP receiver (Tempo, Jaeger, an OpenTelemetry Collector, Datakit) as a destination
// of one signal: POST <url>/v1/<signal>, binary protobuf, gzip unless configured off. A chunk of
// accepted requests is sent as one: binary protobuf messages concatenate into their merge, so
// the bytes of several Export requests side by side are one request holding all their
// resources. Answers are classified as the OTLP/HTTP spec says: 2xx sent (a partial success's
// rejected items were refused for good by the receiver and are not resent); 429, 502, 503, 504,
// 408 and network failures retryable, with Retry-After honoured; any other status permanent.

export interface OtlpBackendSettings {
  /** unique among backends: part of delivered-id keys and metric labels */
  name: string;
  url: string;
  signal: OtlpSignal;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  sending?: SendingOverrides;
}

const RETRYABLE = new Set([408, 429, 502, 503, 504]);

export class OtlpBackend implements SendTarget<OtlpBatch> {
  readonly name: string;
  readonly sending?: SendingOverrides;
  private readonly endpoint: string;
  private readonly baseHeaders: Record<string, string>;

  constructor(private readonly settings: OtlpBackendSettings) {
    this.name = settings.name;
    this.sending = settings.sending;
    this.endpoint = `${settings.url.replace(/\/+$/, '')}/v1/${settings.signal}`;
    const h: Record<string, string> = { 'user-agent': 'emberflow/0.1.0' };
    for (const [k, v] of Object.entries(settings.headers)) h[k.toLowerCase()] = v;
    h['content-type'] = 'application/x-protobuf';
    if (settings.compression === 'gzip') h['content-encoding'] = 'gzip';
    this.baseHeaders = h;
  }

  get signal(): OtlpSignal {
    return this.settings.signal;
  }

  sizeOf(b: OtlpBatch): number {
    return b.body.length + 64;
  }

  async send(items: readonly OtlpBatch[], options: { signal?: AbortSignal } = {}): Promise<void> {
    if (items.length === 0) return;
    const raw = Buffer.concat(items.map((b) => b.body));
    const body = this.settings.compression === 'gzip' ? gzipSync(raw, { level: 1 }) : raw;
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: this.baseHeaders,
        body,
        signal: options.signal,
      });
    } catch (err) {
      throw new RetryableError(
        `${this.endpoint}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`,
        undefined,
        { cause: err },
      );
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return;
    const message = `${this.endpoint} answered ${res.status}: ${text.slice(0, 300)}`;
    if (RETRYABLE.has(res.status))
      throw new RetryableError(message, parseRetryAfter(res.headers.get('retry-after')));
    throw new PermanentError(message, 'export_rejected');
  }

  async close(): Promise<void> {}
}
