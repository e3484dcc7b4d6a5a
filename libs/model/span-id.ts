// Span ids as Grafana Pyroscope reads them. A sample's `span_id` label is a span only when it is
// 16 hex digits (`pkg/pprof/pprof.go` decodeSpanID: length 16, then hex-decoded to a
// little-endian uint64); anything else (`span_id=239`) is no span. A span selector of a query
// must be such ids, or the query is refused with Go's message (`pkg/model/profile.go`
// NewSpanSelector). Ids compare as numbers there, so `ABCD…` and `abcd…` are one span: here
// both are kept in lower case.

const SPAN_ID = /^[0-9a-fA-F]{16}$/;

/** The canonical (lower-case) span id of a `span_id` label value, or undefined for none. */
export function canonicalSpanId(value: string): string | undefined {
  return SPAN_ID.test(value) ? value.toLowerCase() : undefined;
}

export class SpanSelectorError extends Error {
  override readonly name = 'SpanSelectorError';
}

function isHexByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
}

/** Go's `%#U` of a byte: `U+0067 'g'` (the byte taken as a code point, as InvalidByteError does). */
function goQuotedByte(b: number): string {
  const hex = b.toString(16).toUpperCase().padStart(4, '0');
  const printable = b >= 0x20 && b !== 0x7f && !(b >= 0x80 && b < 0xa0);
  return printable ? `U+${hex} '${String.fromCodePoint(b)}'` : `U+${hex}`;
}

/** Go's `%q` of a string, for the ASCII cases that matter in an error message. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/**
 * Validates a query's span selector as NewSpanSelector does and returns the canonical ids.
 * Throws SpanSelectorError with Pyroscope's message: `invalid span id length: "239"` when a
 * value is not 16 bytes, `encoding/hex: invalid byte: U+0067 'g'` when it is not hex.
 */
export function parseSpanSelector(spans: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of spans) {
    const bytes = new TextEncoder().encode(s);
    if (bytes.length !== 16) throw new SpanSelectorError(`invalid span id length: ${goQuote(s)}`);
    for (const b of bytes) {
      if (!isHexByte(b))
        throw new SpanSelectorError(`encoding/hex: invalid byte: ${goQuotedByte(b)}`);
    }
    out.push(s.toLowerCase());
  }
  return out;
}
