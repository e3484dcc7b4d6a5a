// The `sample_type_config` part of the pprof form (pyroscope-protocol.md §1.5.1), decoded as Go's
// encoding/json decodes it into Pyroscope's `map[string]*SampleTypeConfig`: field names matched
// case-insensitively, unknown fields ignored, `null` leaves a field unchanged, later duplicates
// win, and the first type mismatch (in document order) or syntax error is reported with Go's text.
import { goQuoteRune } from './go-compat.js';

export interface SampleTypeConfig {
  units?: string;
  displayName?: string;
  aggregation?: string;
  cumulative?: boolean;
  sampled?: boolean;
}

/** Sample-type name → config; a `null` entry in the JSON is kept as `null` (Go's nil pointer). */
export type SampleTypeConfigMap = Map<string, SampleTypeConfig | null>;

export class JsonError extends Error {
  override readonly name = 'JsonError';
}

type JsonValue =
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'number' }
  | { t: 'string'; v: string }
  | { t: 'array' }
  | { t: 'object'; entries: [string, JsonValue][] };

/** Go's `quoteChar` for a byte in scanner errors (same escapes as `%q` of a rune). */
function quoteChar(c: number): string {
  return goQuoteRune(c);
}

/** A strict JSON parser with Go's scanner error messages (encoding/json/scanner.go). */
class Parser {
  private i = 0;
  constructor(private readonly b: Uint8Array) {}

  private err(context: string): never {
    if (this.i >= this.b.length) throw new JsonError('unexpected end of JSON input');
    throw new JsonError(`invalid character ${quoteChar(this.b[this.i])} ${context}`);
  }

  /**
   * Like `err`, for states where Go's scanner, fed its end-of-input space, fails on that space
   * (inside literals, numbers and escapes) instead of reporting the end of input.
   */
  private errAt(context: string): never {
    if (this.i >= this.b.length) throw new JsonError(`invalid character ' ' ${context}`);
    this.err(context);
  }

  private ws(): void {
    while (this.i < this.b.length) {
      const c = this.b[this.i];
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  parseDocument(): JsonValue {
    this.ws();
    const v = this.value();
    this.ws();
    if (this.i < this.b.length) this.err('after top-level value');
    return v;
  }

  private value(): JsonValue {
    if (this.i >= this.b.length) this.err('');
    const c = this.b[this.i];
    switch (c) {
      case 0x7b:
        return this.object();
      case 0x5b:
        return this.array();
      case 0x22:
        return { t: 'string', v: this.string() };
      case 0x74:
        this.literal('true');
        return { t: 'bool', v: true };
      case 0x66:
        this.literal('false');
        return { t: 'bool', v: false };
      case 0x6e:
        this.literal('null');
        return { t: 'null' };
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number();
      return { t: 'number' };
    }
    this.err('looking for beginning of value');
  }

  private literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      if (this.i >= this.b.length || this.b[this.i] !== word.charCodeAt(k)) {
        this.errAt(`in literal ${word} (expecting ${quoteChar(word.charCodeAt(k))})`);
      }
      this.i++;
    }
  }

  private digits(): number {
    const s = this.i;
    while (this.i < this.b.length && this.b[this.i] >= 0x30 && this.b[this.i] <= 0x39) this.i++;
    return this.i - s;
  }

  private number(): void {
    if (this.b[this.i] === 0x2d) {
      this.i++;
      const c = this.b[this.i];
      if (this.i >= this.b.length || c < 0x30 || c > 0x39) this.errAt('in numeric literal');
    }
    if (this.b[this.i] === 0x30) this.i++;
    else this.digits();
    if (this.i < this.b.length && this.b[this.i] === 0x2e) {
      this.i++;
      if (this.digits() === 0) this.errAt('after decimal point in numeric literal');
    }
    if (this.i < this.b.length && (this.b[this.i] === 0x65 || this.b[this.i] === 0x45)) {
      this.i++;
      if (this.i < this.b.length && (this.b[this.i] === 0x2b || this.b[this.i] === 0x2d)) this.i++;
      if (this.digits() === 0) this.errAt('in exponent of numeric literal');
    }
  }

  private string(): string {
    const start = ++this.i;
    let simple = true;
    for (;;) {
      if (this.i >= this.b.length) this.err('');
      const c = this.b[this.i];
      if (c === 0x22) break;
      if (c < 0x20) this.err('in string literal');
      if (c === 0x5c) {
        simple = false;
        this.i++;
        if (this.i >= this.b.length) this.errAt('in string escape code');
        const e = this.b[this.i];
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            this.i++;
            if (this.i >= this.b.length) this.errAt('in \\u hexadecimal character escape');
            const h = this.b[this.i];
            const hex =
              (h >= 0x30 && h <= 0x39) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46);
            if (!hex) this.err('in \\u hexadecimal character escape');
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          this.err('in string escape code');
        }
      }
      this.i++;
    }
    const raw = this.b.subarray(start, this.i);
    this.i++;
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw); // invalid UTF-8 → U+FFFD, as Go does
    // Escapes are valid JSON by now; JSON.parse resolves them (lone surrogates → U+FFFD below).
    const s = simple ? text : (JSON.parse(`"${text}"`) as string);
    return s.toWellFormed();
  }

  private array(): JsonValue {
    this.i++;
    this.ws();
    if (this.b[this.i] === 0x5d) {
      this.i++;
      return { t: 'array' };
    }
    for (;;) {
      this.ws();
      this.value();
      this.ws();
      if (this.i >= this.b.length) this.err('');
      const c = this.b[this.i];
      if (c === 0x2c) {
        this.i++;
        continue;
      }
      if (c === 0x5d) {
        this.i++;
        return { t: 'array' };
      }
      this.err('after array element');
    }
  }

  private object(): JsonValue {
    this.i++;
    const entries: [string, JsonValue][] = [];
    this.ws();
    if (this.b[this.i] === 0x7d) {
      this.i++;
      return { t: 'object', entries };
    }
    for (;;) {
      this.ws();
      if (this.i >= this.b.length) this.err('');
      if (this.b[this.i] !== 0x22) this.err('looking for beginning of object key string');
      const key = this.string();
      this.ws();
      if (this.i >= this.b.length) this.err('');
      if (this.b[this.i] !== 0x3a) this.err('after object key');
      this.i++;
      this.ws();
      entries.push([key, this.value()]);
      this.ws();
      if (this.i >= this.b.length) this.err('');
      const c = this.b[this.i];
      if (c === 0x2c) {
        this.i++;
        continue;
      }
      if (c === 0x7d) {
        this.i++;
        return { t: 'object', entries };
      }
      this.err('after object key:value pair');
    }
  }
}

const MAP_TYPE = 'map[string]*tree.SampleTypeConfig';
const STRUCT_TYPE = 'tree.SampleTypeConfig';
const FIELDS = [
  { json: 'units', key: 'units', type: 'metadata.Units' },
  { json: 'display-name', key: 'displayName', type: 'string' },
  { json: 'aggregation', key: 'aggregation', type: 'metadata.AggregationType' },
  { json: 'cumulative', key: 'cumulative', type: 'bool' },
  { json: 'sampled', key: 'sampled', type: 'bool' },
] as const;

function kindName(v: JsonValue): string {
  return v.t === 'bool' ? 'bool' : v.t;
}

/**
 * Parses `sample_type_config`. Returns undefined for JSON `null` (Pyroscope then uses its default
 * mapping). Throws `JsonError` with Go's message (`unexpected end of JSON input`,
 * `json: cannot unmarshal number into Go struct field SampleTypeConfig.units of type
 * metadata.Units`, ...).
 */
export function parseSampleTypeConfig(bytes: Uint8Array | string): SampleTypeConfigMap | undefined {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const doc = new Parser(b).parseDocument();
  let firstError: string | undefined;
  const typeError = (msg: string) => {
    firstError ??= msg;
  };
  if (doc.t === 'null') return undefined;
  if (doc.t !== 'object') {
    throw new JsonError(
      `json: cannot unmarshal ${kindName(doc)} into Go value of type ${MAP_TYPE}`,
    );
  }
  const out: SampleTypeConfigMap = new Map();
  for (const [name, v] of doc.entries) {
    if (v.t === 'null') {
      out.set(name, null);
      continue;
    }
    const cfg: SampleTypeConfig = {};
    out.set(name, cfg);
    if (v.t !== 'object') {
      typeError(`json: cannot unmarshal ${kindName(v)} into Go value of type ${STRUCT_TYPE}`);
      continue;
    }
    for (const [k, fv] of v.entries) {
      const f =
        FIELDS.find((x) => x.json === k) ??
        FIELDS.find((x) => x.json.toLowerCase() === k.toLowerCase());
      if (f === undefined || fv.t === 'null') continue;
      const wantBool = f.type === 'bool';
      if ((wantBool && fv.t !== 'bool') || (!wantBool && fv.t !== 'string')) {
        typeError(
          `json: cannot unmarshal ${kindName(fv)} into Go struct field SampleTypeConfig.${f.json} of type ${f.type}`,
        );
        continue;
      }
      (cfg as Record<string, unknown>)[f.key] = fv.t === 'bool' ? fv.v : (fv as { v: string }).v;
    }
  }
  if (firstError !== undefined) throw new JsonError(firstError);
  return out;
}
