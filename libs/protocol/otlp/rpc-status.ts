import { BinaryWriter } from '@bufbuild/protobuf/wire';

// The body of an OTLP/HTTP error response: a google.rpc.Status in the request's encoding
// (OTLP spec, "Failures"): binary protobuf for application/x-protobuf, proto3 JSON otherwise.
// Status has three fields (code, message, details); details are never sent, so the message is
// written by hand rather than generated from googleapis' protos.

/** gRPC status codes the OTLP receivers answer with (google.rpc.Code). */
export const RPC_CODE = {
  invalidArgument: 3,
  resourceExhausted: 8,
  unauthenticated: 16,
  unavailable: 14,
  unimplemented: 12,
  internal: 13,
} as const;

/** The google.rpc.Code that goes with an HTTP status of an OTLP answer. */
export function rpcCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return RPC_CODE.unauthenticated;
  if (status === 413 || status === 429) return RPC_CODE.resourceExhausted;
  if (status === 503) return RPC_CODE.unavailable;
  if (status === 404 || status === 405 || status === 501) return RPC_CODE.unimplemented;
  if (status >= 500) return RPC_CODE.internal;
  return RPC_CODE.invalidArgument;
}

export function encodeRpcStatusBinary(code: number, message: string): Uint8Array {
  const w = new BinaryWriter();
  if (code !== 0) w.uint32(8).int32(code);
  if (message !== '') w.uint32(18).string(message);
  return w.finish();
}

export function rpcStatusJson(code: number, message: string): { code: number; message: string } {
  return { code, message };
}
