// Small re-implementations of the Go standard-library behaviours that leak into Pyroscope's
// error messages and parsing results (strings.TrimSpace, strconv.Atoi, %q, humanize.Bytes).
// Written from the Go documentation; they exist so our answers are byte-identical.
import { goIsPrint } from './go-isprint.js';

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Go `unicode.IsSpace`. */
export function goIsSpace(cp: number): boolean {
  switch (cp) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
  }
  return cp >= 0x2000 && cp <= 0x200a;
}

/** Go `strings.TrimSpace` (differs from `String.prototype.trim` on U+0085 and U+FEFF). */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && goIsSpace(s.charCodeAt(start))) start++;
  while (end > start && goIsSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * Go `strconv.Atoi` on a 64-bit platform: optional sign, ASCII decimal digits only. On overflow Go
 * returns the clamped value together with an error; both are reported here.
 */
export function goAtoi(s: string): { value: bigint; ok: boolean } {
  if (!/^[+-]?[0-9]+$/.test(s)) return { value: 0n, ok: false };
  const v = BigInt(s);
  if (v > INT64_MAX) return { value: INT64_MAX, ok: false };
  if (v < INT64_MIN) return { value: INT64_MIN, ok: false };
  return { value: v, ok: true };
}

/** Wrap to a signed 64-bit integer, as Go's int64 arithmetic does. */
export function int64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

export { goIsPrint } from './go-isprint.js';

function escapeRune(cp: number, quote: number): string {
  if (cp === quote || cp === 0x5c) return '\\' + String.fromCodePoint(cp);
  if (goIsPrint(cp)) return String.fromCodePoint(cp);
  switch (cp) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** Go `%q` of a rune (`strconv.QuoteRune`). Lone surrogates print as U+FFFD, as Go's decoder would. */
export function goQuoteRune(cp: number): string {
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  return "'" + escapeRune(cp, 0x27) + "'";
}

/** Go `%q` of a `[]byte` or string given as bytes (`strconv.Quote`): invalid UTF-8 as `\xNN`. */
export function goQuoteBytes(b: Uint8Array): string {
  let out = '"';
  let i = 0;
  while (i < b.length) {
    const [cp, size] = decodeRune(b, i);
    if (cp < 0) out += '\\x' + b[i].toString(16).padStart(2, '0');
    else out += escapeRune(cp, 0x22);
    i += size;
  }
  return out + '"';
}

/** One UTF-8 sequence at `i`: [code point, size], or [-1, 1] for an invalid byte (Go rules). */
export function decodeRune(b: Uint8Array, i: number): [number, number] {
  const b0 = b[i];
  if (b0 < 0x80) return [b0, 1];
  const need =
    b0 >= 0xf0 && b0 <= 0xf4 ? 3 : b0 >= 0xe0 ? (b0 <= 0xef ? 2 : -1) : b0 >= 0xc2 ? 1 : -1;
  if (need < 0 || i + need >= b.length) return [-1, 1];
  let cp = b0 & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
  for (let k = 1; k <= need; k++) {
    const c = b[i + k];
    let lo = 0x80;
    let hi = 0xbf;
    if (k === 1) {
      if (b0 === 0xe0) lo = 0xa0;
      else if (b0 === 0xed) hi = 0x9f;
      else if (b0 === 0xf0) lo = 0x90;
      else if (b0 === 0xf4) hi = 0x8f;
    }
    if (c < lo || c > hi) return [-1, 1];
    cp = (cp << 6) | (c & 0x3f);
  }
  return [cp, need + 1];
}

/** True when `b` is valid UTF-8 (Go `utf8.Valid`). */
export function isValidUtf8(b: Uint8Array): boolean {
  for (let i = 0; i < b.length;) {
    const [cp, size] = decodeRune(b, i);
    if (cp < 0) return false;
    i += size;
  }
  return true;
}

/** github.com/dustin/go-humanize `Bytes` (SI units), used in Pyroscope's size-limit messages. */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / Math.pow(1000, e)) * 10 + 0.5) / 10;
  return val < 10 ? `${val.toFixed(1)} ${sizes[e]}` : `${val.toFixed(0)} ${sizes[e]}`;
}
