// Bounds on JSON a client sends, checked before the text is parsed or walked: the deepest
// nesting of arrays and objects (Go's encoding/json and protojson both stop at 10,000 levels,
// and a walk or an error message over 100,000 levels overflows V8's stack: regression, a Push
// JSON body nested 100,000 arrays deep was answered 500 "Maximum call stack size exceeded"),
// and a bounded preview of a value for error messages, so a 30 MB string is not echoed back.

/** protojson's and encoding/json's nesting limit. */
export const MAX_JSON_DEPTH = 10_000;

/**
 * The first position where `text` nests deeper than `limit` arrays/objects, or -1. A linear scan
 * of the characters that skips string literals (escapes included); it does not validate JSON.
 */
export function jsonTooDeepAt(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/** A short, safe rendering of a decoded JSON value for an error message. */
export function jsonPreview(v: unknown, max = 64): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v.length > max ? `${v.slice(0, max)}` : v);
  else if (Array.isArray(v)) s = `array of ${v.length}`;
  else if (v === null) s = 'null';
  else if (typeof v === 'object') s = 'object';
  else s = String(v);
  return s.length > max + 2 ? `${s.slice(0, max)}...` : s;
}
