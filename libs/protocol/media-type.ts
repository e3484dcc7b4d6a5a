// Go's `mime.ParseMediaType`, which Pyroscope uses for the multipart boundary and which Go's
// multipart reader uses for Content-Disposition. Error texts are Go's.
import { goIsSpace, goTrimSpace } from './go-compat.js';

export interface MediaType {
  /** lower-cased `type/subtype` (or a disposition such as `form-data`) */
  type: string;
  /** parameter names lower-cased; RFC 2231 `name*` / `name*0` forms decoded */
  params: Map<string, string>;
}

export class MediaTypeError extends Error {
  override readonly name = 'MediaTypeError';
}

const TSPECIALS = '()<>@,;:\\"/[]?=';

function isTokenChar(c: string): boolean {
  const cp = c.charCodeAt(0);
  return cp > 0x20 && cp < 0x7f && !TSPECIALS.includes(c);
}

function consumeToken(v: string): [string, string] {
  let i = 0;
  while (i < v.length && isTokenChar(v[i])) i++;
  return [v.slice(0, i), v.slice(i)];
}

function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && goIsSpace(s.charCodeAt(i))) i++;
  return s.slice(i);
}

function consumeValue(v: string): [string, string] {
  if (v === '') return ['', v];
  if (v[0] !== '"') return consumeToken(v);
  let out = '';
  for (let i = 1; i < v.length; i++) {
    const c = v[i];
    if (c === '"') return [out, v.slice(i + 1)];
    // Go keeps an unnecessary backslash literally (MSIE paths), unescapes only before tspecials.
    if (c === '\\' && i + 1 < v.length && TSPECIALS.includes(v[i + 1])) {
      out += v[i + 1];
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') return ['', v];
    out += c;
  }
  return ['', v];
}

function consumeMediaParam(v: string): [string, string, string] {
  let rest = trimLeftSpace(v);
  if (!rest.startsWith(';')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  let param: string;
  [param, rest] = consumeToken(rest);
  param = param.toLowerCase();
  if (param === '') return ['', '', v];
  rest = trimLeftSpace(rest);
  if (!rest.startsWith('=')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  const [value, rest2] = consumeValue(rest);
  if (value === '' && rest2 === rest) return ['', '', v];
  return [param, value, rest2];
}

function checkMediaTypeDisposition(s: string): void {
  const [typ, rest] = consumeToken(s);
  if (typ === '') throw new MediaTypeError('mime: no media type');
  if (rest === '') return;
  if (!rest.startsWith('/')) throw new MediaTypeError('mime: expected slash after first token');
  const [subtype, rest2] = consumeToken(rest.slice(1));
  if (subtype === '') throw new MediaTypeError('mime: expected token after slash');
  if (rest2 !== '') throw new MediaTypeError('mime: unexpected content after media subtype');
}

function percentHexUnescape(s: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i) & 0xff);
  }
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes));
}

function decode2231Enc(v: string): string | undefined {
  const parts = v.split("'");
  if (parts.length !== 3) return undefined;
  const charset = parts[0].toLowerCase();
  if (charset === '') return undefined;
  if (charset !== 'us-ascii' && charset !== 'utf-8') return undefined;
  return percentHexUnescape(parts[2]);
}

/** Go `mime.ParseMediaType`. Throws `MediaTypeError` with Go's message. */
export function parseMediaType(v: string): MediaType {
  const semi = v.indexOf(';');
  const base = semi === -1 ? v : v.slice(0, semi);
  const type = goTrimSpace(base.toLowerCase());
  checkMediaTypeDisposition(type);
  const params = new Map<string, string>();
  const continuation = new Map<string, Map<string, string>>();
  let rest = v.slice(base.length);
  while (rest.length > 0) {
    rest = trimLeftSpace(rest);
    if (rest.length === 0) break;
    const [key, value, after] = consumeMediaParam(rest);
    if (key === '') {
      if (after.trim() === ';') break; // trailing semicolon is tolerated
      throw new MediaTypeError('mime: invalid media parameter');
    }
    let pmap = params;
    const star = key.indexOf('*');
    if (star !== -1) {
      const baseName = key.slice(0, star);
      pmap = continuation.get(baseName) ?? new Map<string, string>();
      continuation.set(baseName, pmap);
    }
    const existing = pmap.get(key);
    if (existing !== undefined && existing !== value) {
      throw new MediaTypeError('mime: duplicate parameter name');
    }
    pmap.set(key, value);
    rest = after;
  }
  for (const [key, pieces] of continuation) {
    const single = pieces.get(key + '*');
    if (single !== undefined) {
      const dec = decode2231Enc(single);
      if (dec !== undefined) params.set(key, dec);
      continue;
    }
    let buf = '';
    let valid = false;
    for (let n = 0; ; n++) {
      const simple = `${key}*${n}`;
      const sv = pieces.get(simple);
      if (sv !== undefined) {
        valid = true;
        buf += sv;
        continue;
      }
      const ev = pieces.get(simple + '*');
      if (ev === undefined) break;
      valid = true;
      if (n === 0) buf += decode2231Enc(ev) ?? '';
      else buf += percentHexUnescape(ev) ?? '';
    }
    if (valid) params.set(key, buf);
  }
  return { type, params };
}
