import type { FastifyReply } from 'fastify';
import {
  encodeRpcStatusBinary,
  otlpEncodingOf,
  rpcCodeForStatus,
  rpcStatusJson,
} from '../../protocol/index.js';

// OTLP/HTTP error answers: a google.rpc.Status in the request's encoding (binary protobuf for
// application/x-protobuf, JSON otherwise), so an exporter can log the message. Used by the OTLP
// controller and by the HTTP edge for what it refuses before a controller runs (401, 413,
// 429/503 with Retry-After).

const OTLP_PATH = /^\/(?:otel\/)?v1\/(?:traces|metrics|logs)(?:\?|$)/;

/** True for the OTLP/HTTP export paths (/v1/<signal> and Datakit's /otel/v1/<signal>). */
export function isOtlpPath(url: string): boolean {
  return OTLP_PATH.test(url);
}

export async function sendOtlpError(
  reply: FastifyReply,
  requestContentType: string,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const code = rpcCodeForStatus(status);
  reply.status(status).headers(headers);
  if (otlpEncodingOf(requestContentType) === 'protobuf') {
    await reply
      .type('application/x-protobuf')
      .send(Buffer.from(encodeRpcStatusBinary(code, message)));
  } else {
    await reply.type('application/json').send(rpcStatusJson(code, message));
  }
}
