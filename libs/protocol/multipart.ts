// A bounded multipart/form-data reader over a complete body, with the acceptance rules and error
// texts of Go's mime/multipart `ReadForm`, which Pyroscope uses (pyroscope-protocol.md §1.5):
// preamble and epilogue ignored, LF-only line endings accepted when the first boundary line uses
// them, a body that ends inside part headers is a clean end of form, a part without its closing
// boundary is `unexpected EOF`. Part data are views into the body (no copies): they stay valid as
// long as the caller keeps the body unchanged.
import type { ProtocolError } from './errors.js';
import { unprocessable } from './errors.js';
import { goQuoteBytes } from './go-compat.js';
import { MediaTypeError, parseMediaType } from './media-type.js';

export interface MultipartLimits {
  /** parts (of any kind) per form; Go's default is 1000 */
  maxParts?: number;
  /** bytes of one part's data; default unlimited (the body limit bounds it) */
  maxPartBytes?: number;
  /** bytes of one part's header block; default 10 MiB as Go's reader */
  maxHeaderBytes?: number;
}

export const DEFAULT_MULTIPART_LIMITS: Required<MultipartLimits> = {
  maxParts: 1000,
  maxPartBytes: Number.MAX_SAFE_INTEGER,
  maxHeaderBytes: 10 << 20,
};

export interface MultipartPart {
  /** Content-Disposition `name` when the disposition is `form-data`, else undefined */
  name: string | undefined;
  /** Content-Disposition `filename` reduced to its base name (Go `Part.FileName`); undefined when absent or empty */
  filename: string | undefined;
  /** the part's Content-Type header, if any */
  contentType: string | undefined;
  /** header names lower-cased, values in order */
  headers: Map<string, string[]>;
  /** the part's bytes: a view into the body */
  data: Buffer;
}

function malformed(message: string): ProtocolError {
  return unprocessable('malformed_multipart', message);
}

/**
 * The boundary from a Content-Type, as Pyroscope's `form.ParseBoundary`. Throws 422 with Go's
 * `mime: ...` message for an unparseable header or `malformed multipart content type header`
 * when there is no boundary parameter.
 */
export function parseBoundary(contentType: string): string {
  let params: Map<string, string>;
  try {
    params = parseMediaType(contentType).params;
  } catch (e) {
    if (e instanceof MediaTypeError) throw malformed(e.message);
    throw e;
  }
  const boundary = params.get('boundary');
  if (boundary === undefined) throw malformed('malformed multipart content type header');
  return boundary;
}

const PEEK_BUFFER_SIZE = 4096; // Go's bufio buffer in the multipart reader

function isLwsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function startsWithAt(buf: Buffer, at: number, prefix: Buffer): boolean {
  if (at + prefix.length > buf.length) return false;
  return buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}

const TOKEN_EXTRA = "!#$%&'*+-.^_`|~";
function isHeaderFieldByte(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c < 0x80 && TOKEN_EXTRA.includes(String.fromCharCode(c)))
  );
}
function isHeaderValueByte(c: number): boolean {
  return c >= 0x80 || (c >= 0x20 && c !== 0x7f) || c === 0x09;
}

/** textproto's canonical header key: upper-case first letter and each letter after `-`. */
function canonicalHeaderKey(k: string): string {
  let upper = true;
  let out = '';
  for (const ch of k) {
    let c = ch;
    if (upper && c >= 'a' && c <= 'z') c = c.toUpperCase();
    else if (!upper && c >= 'A' && c <= 'Z') c = c.toLowerCase();
    out += c;
    upper = c === '-';
  }
  return out;
}

function trimLwsp(b: Buffer): Buffer {
  let s = 0;
  let e = b.length;
  while (s < e && isLwsp(b[s])) s++;
  while (e > s && isLwsp(b[e - 1])) e--;
  return b.subarray(s, e);
}

/** Go's filepath.Base on Unix. */
function baseName(p: string): string {
  if (p === '') return '.';
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (p === '/') return '/';
  const i = p.lastIndexOf('/');
  return i === -1 ? p : p.slice(i + 1);
}

class Reader {
  private pos = 0;
  private partsRead = 0;
  private nl: Buffer;
  private nlDashBoundary: Buffer;
  private readonly dashBoundary: Buffer;
  private readonly dashBoundaryDash: Buffer;

  constructor(
    private readonly body: Buffer,
    boundary: string,
    private readonly limits: Required<MultipartLimits>,
  ) {
    const b = Buffer.from(`\r\n--${boundary}--`, 'utf8');
    this.nl = b.subarray(0, 2);
    this.nlDashBoundary = b.subarray(0, b.length - 2);
    this.dashBoundaryDash = b.subarray(2);
    this.dashBoundary = b.subarray(2, b.length - 2);
  }

  /** bufio.ReadSlice('\n'): [line, atEof]; throws for a line longer than Go's buffer. */
  private readSlice(): [Buffer, boolean] {
    const start = this.pos;
    const nlAt = this.body.indexOf(0x0a, start);
    const end = nlAt === -1 ? this.body.length : nlAt + 1;
    if (end - start > PEEK_BUFFER_SIZE || (nlAt === -1 && end - start >= PEEK_BUFFER_SIZE)) {
      throw malformed('multipart: NextPart: bufio: buffer full');
    }
    this.pos = end;
    return [this.body.subarray(start, end), nlAt === -1];
  }

  private isFinalBoundary(line: Buffer): boolean {
    if (!startsWithAt(line, 0, this.dashBoundaryDash)) return false;
    let i = this.dashBoundaryDash.length;
    while (i < line.length && isLwsp(line[i])) i++;
    const rest = line.subarray(i);
    return rest.length === 0 || rest.equals(this.nl);
  }

  private isBoundaryDelimiterLine(line: Buffer): boolean {
    if (!startsWithAt(line, 0, this.dashBoundary)) return false;
    let i = this.dashBoundary.length;
    while (i < line.length && isLwsp(line[i])) i++;
    const rest = line.subarray(i);
    if (this.partsRead === 0 && rest.length === 1 && rest[0] === 0x0a) {
      this.nl = this.nl.subarray(1);
      this.nlDashBoundary = this.nlDashBoundary.subarray(1);
    }
    return rest.equals(this.nl);
  }

  /** Next part, or undefined at the end of the form. */
  next(): MultipartPart | undefined {
    if (this.dashBoundary.length === 2) throw malformed('multipart: boundary is empty');
    let expectNewPart = false;
    for (;;) {
      const [line, eof] = this.readSlice();
      if (eof && this.isFinalBoundary(line)) return undefined;
      if (eof) throw malformed('multipart: NextPart: EOF');
      if (this.isBoundaryDelimiterLine(line)) {
        this.partsRead++;
        return this.readPart();
      }
      if (this.isFinalBoundary(line)) return undefined;
      if (expectNewPart) {
        throw malformed(`multipart: expecting a new Part; got line ${goQuoteBytes(line)}`);
      }
      if (this.partsRead === 0) continue; // preamble
      if (line.equals(this.nl)) {
        expectNewPart = true;
        continue;
      }
      throw malformed(`multipart: unexpected line in Next(): ${goQuoteBytes(line)}`);
    }
  }

  /** textproto line: without its `\n` / `\r\n`; undefined at end of input. */
  private readLine(): Buffer | undefined {
    if (this.pos >= this.body.length) return undefined;
    const start = this.pos;
    const nlAt = this.body.indexOf(0x0a, start);
    let end = nlAt === -1 ? this.body.length : nlAt;
    this.pos = nlAt === -1 ? this.body.length : nlAt + 1;
    if (nlAt !== -1 && end > start && this.body[end - 1] === 0x0d) end--;
    return this.body.subarray(start, end);
  }

  /** Reads a (possibly folded) header line; undefined at end of input. */
  private readHeaderLine(): Buffer | undefined | 'blank' {
    const first = this.readLine();
    if (first === undefined) return undefined;
    if (first.length === 0) return 'blank';
    if (first.indexOf(0x3a) < 0) {
      throw malformed(`malformed MIME header: missing colon: ${goQuoteBytes(first)}`);
    }
    let acc = trimLwsp(first);
    while (this.pos < this.body.length && isLwsp(this.body[this.pos])) {
      while (this.pos < this.body.length && isLwsp(this.body[this.pos])) this.pos++;
      const cont = this.readLine();
      const parts = [acc, Buffer.from(' ')];
      if (cont !== undefined) parts.push(trimLwsp(cont));
      acc = Buffer.concat(parts);
    }
    return acc;
  }

  private readHeaders(): Map<string, string[]> | undefined {
    const headers = new Map<string, string[]>();
    let budget = this.limits.maxHeaderBytes - 400;
    if (this.pos < this.body.length && isLwsp(this.body[this.pos])) {
      const line = this.readLine() ?? Buffer.alloc(0);
      if (line.length > 80) throw malformed('message too large');
      throw malformed('malformed MIME header initial line: ' + goQuoteBytes(line));
    }
    for (;;) {
      const kv = this.readHeaderLine();
      if (kv === undefined) return undefined; // EOF inside headers: Go ends the form here
      if (kv === 'blank') return headers;
      const colon = kv.indexOf(0x3a);
      const k = kv.subarray(0, colon);
      const v = kv.subarray(colon + 1);
      const bad = () => malformed('malformed MIME header line: ' + goQuoteBytes(kv));
      if (k.length === 0) throw bad();
      // Go accepts (without canonicalising) a key with spaces; it then never matches a lookup.
      for (const c of k) if (!isHeaderFieldByte(c) && c !== 0x20) throw bad();
      for (const c of v) {
        if (isHeaderValueByte(c)) continue;
        // Go canonicalises the key in place before checking the value, so its message shows
        // the canonical key (`content-type` → `Content-Type`) when the key had no space.
        if (k.includes(0x20)) throw bad();
        const canon = Buffer.from(canonicalHeaderKey(k.toString('latin1')), 'latin1');
        throw malformed(
          'malformed MIME header line: ' + goQuoteBytes(Buffer.concat([canon, kv.subarray(colon)])),
        );
      }
      const key = k.toString('latin1').toLowerCase();
      let s = 0;
      while (s < v.length && isLwsp(v[s])) s++;
      const value = v.subarray(s).toString('utf8');
      const list = headers.get(key);
      if (!list) budget -= key.length + 200;
      budget -= value.length;
      if (budget < 0) throw malformed('message too large');
      if (list) list.push(value);
      else headers.set(key, [value]);
    }
  }

  private matchAfterPrefix(at: number, prefixLen: number): -1 | 1 {
    const i = at + prefixLen;
    if (i === this.body.length) return 1;
    const c = this.body[i];
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) return 1;
    if (c === 0x2d) {
      if (i + 1 === this.body.length) return -1;
      if (this.body[i + 1] === 0x2d) return 1;
    }
    return -1;
  }

  private formParts = 0;

  private readPart(): MultipartPart | undefined {
    const headers = this.readHeaders();
    if (headers === undefined) return undefined;
    // Go counts every part against the limit once its headers are read, before its body.
    if (this.formParts >= this.limits.maxParts) throw malformed('multipart: message too large');
    this.formParts++;
    let name: string | undefined;
    let filename: string | undefined;
    const disposition = headers.get('content-disposition')?.[0];
    if (disposition !== undefined) {
      try {
        const mt = parseMediaType(disposition);
        if (mt.type === 'form-data') name = mt.params.get('name');
        const fn = mt.params.get('filename');
        if (fn !== undefined && fn !== '') filename = baseName(fn);
      } catch (e) {
        if (!(e instanceof MediaTypeError)) throw e;
      }
    }
    if (name === '') name = undefined;
    const start = this.pos;
    let end = -1;
    if (
      startsWithAt(this.body, start, this.dashBoundary) &&
      this.matchAfterPrefix(start, this.dashBoundary.length) === 1
    ) {
      end = start; // empty part written without the separating newline
    } else {
      let from = start;
      for (;;) {
        const i = this.body.indexOf(this.nlDashBoundary, from);
        if (i < 0) break;
        if (this.matchAfterPrefix(i, this.nlDashBoundary.length) === 1) {
          end = i;
          break;
        }
        from = i + 1;
      }
    }
    if (end < 0) {
      // A part Go's ReadForm skips (no form name) is drained with errors ignored; the next
      // boundary read then fails with `multipart: NextPart: EOF`. A read part fails here.
      if (name !== undefined) throw unprocessable('truncated', 'unexpected EOF');
      end = this.body.length;
    }
    if (name !== undefined && end - start > this.limits.maxPartBytes) {
      throw malformed(`multipart: part exceeds ${this.limits.maxPartBytes} bytes`);
    }
    this.pos = end;
    return {
      name,
      filename,
      contentType: headers.get('content-type')?.[0],
      headers,
      data: this.body.subarray(start, end),
    };
  }
}

/**
 * Reads every part of a multipart body. Throws `ProtocolError` (422, kind `malformed_multipart`
 * or `truncated`) with the message Go's reader would produce, or `multipart: message too large`
 * past `maxParts`.
 */
export function readMultipart(
  body: Uint8Array,
  boundary: string,
  limits: MultipartLimits = {},
): MultipartPart[] {
  const l = { ...DEFAULT_MULTIPART_LIMITS, ...limits };
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
  const reader = new Reader(buf, boundary, l);
  const parts: MultipartPart[] = [];
  for (;;) {
    const p = reader.next();
    if (p === undefined) return parts;
    parts.push(p);
  }
}

/**
 * Pyroscope's `form.ReadField`: the data of the first *file* part (one with a non-empty filename)
 * named `name`; undefined when there is none or it is empty.
 */
export function formFile(parts: readonly MultipartPart[], name: string): Buffer | undefined {
  const p = parts.find((x) => x.name === name && x.filename !== undefined);
  if (p === undefined || p.data.length === 0) return undefined;
  return p.data;
}
