import { MAX_JSON_DEPTH, jsonTooDeepAt } from '../json-limits.js';

// OTLP/JSON differs from the proto3 JSON mapping in one way that matters to a decoder: trace and
// span ids are hex strings, not base64 (OTLP spec, "JSON Protobuf Encoding"). These helpers turn
// the hex ids of a parsed OTLP/JSON document into base64 before the proto3 JSON reader sees it,
// and back for output. Field names are the same in every signal (Span, Span.Link, LogRecord,
// Exemplar), so one walk serves them all.

const ID_FIELDS = new Set([
  'traceId',
  'spanId',
  'parentSpanId',
  'trace_id',
  'span_id',
  'parent_span_id',
]);
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export class OtlpJsonError extends Error {
  override readonly name = 'OtlpJsonError';
}

/** Parses OTLP/JSON text, checking its nesting first, and rewrites hex ids to base64 in place. */
export function parseOtlpJson(text: string): unknown {
  const at = jsonTooDeepAt(text);
  if (at >= 0) {
    throw new OtlpJsonError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels at offset ${at}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new OtlpJsonError(`invalid JSON: ${(err as Error).message}`);
  }
  rewriteIds(doc, hexToBase64);
  return doc;
}

function hexToBase64(v: string, key: string): string {
  if (!HEX_RE.test(v)) {
    throw new OtlpJsonError(
      `${key} must be a hex string (OTLP/JSON), got ${JSON.stringify(v.slice(0, 40))}`,
    );
  }
  return Buffer.from(v, 'hex').toString('base64');
}

// Iterative: depth is bounded by the check above, but a walk should not need the stack anyway.
function rewriteIds(doc: unknown, convert: (v: string, key: string) => string): void {
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const v of node) if (typeof v === 'object' && v !== null) stack.push(v);
    } else if (typeof node === 'object' && node !== null) {
      const o = node as Record<string, unknown>;
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === 'string' && ID_FIELDS.has(k)) o[k] = convert(v, k);
        else if (typeof v === 'object' && v !== null) stack.push(v);
      }
    }
  }
}
