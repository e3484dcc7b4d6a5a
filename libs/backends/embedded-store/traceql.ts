import { compileLabelRegex, type LabelRegex } from '../../model/index.js';

// The TraceQL subset the embedded span store answers (docs/traces.md lists it):
//
//   query    := spanset (('&&' | '||') spanset)*      && binds tighter than ||
//   spanset  := '{' [expr] '}'                         {} matches every span
//   expr     := and ('||' and)* ;  and := term ('&&' term)* ;  term := '(' expr ')' | cond
//   cond     := field op value
//   field    := name | duration | status | kind | statusMessage
//             | span.<attr> | resource.<attr> | .<attr> (span attribute, else resource attribute)
//   op       := = != =~ !~ > < >= <=
//   value    := "string" | number | duration (500ms, 1.5s, 2m ...) | true | false
//             | ok | error | unset (status) | server | client | producer | consumer | internal
//             | unspecified (kind)
//
// Semantics follow Tempo's: a spanset filter selects the spans of a trace it matches; `A && B`
// keeps a trace when both select some span (the matched spans are both sets), `A || B` when
// either does. A condition on an attribute a span lacks is false, whatever the operator.
// Regexes are RE2, fully anchored. Parse errors are TraceQLError (the API answers 400).

export class TraceQLError extends Error {
  override readonly name = 'TraceQLError';
}

export interface SpanView {
  name: string;
  durationNanos: number;
  /** 0 unset, 1 ok, 2 error */
  statusCode: number;
  statusMessage: string;
  /** 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  kind: number;
  spanAttributes: Record<string, string | number | boolean>;
  resourceAttributes: Record<string, string | number | boolean>;
}

type Op = '=' | '!=' | '=~' | '!~' | '>' | '<' | '>=' | '<=';
type Value = string | number | boolean;
type Field =
  | { kind: 'intrinsic'; name: 'name' | 'duration' | 'status' | 'kind' | 'statusMessage' }
  | { kind: 'attr'; scope: 'span' | 'resource' | 'any'; key: string };

type Expr =
  | { t: 'and' | 'or'; l: Expr; r: Expr }
  | { t: 'cond'; field: Field; op: Op; value: Value; re?: LabelRegex }
  | { t: 'true' };

type Query = { t: 'and' | 'or'; l: Query; r: Query } | { t: 'set'; expr: Expr };

export const STATUS_CODES: Record<string, number> = { unset: 0, ok: 1, error: 2 };
export const SPAN_KINDS: Record<string, number> = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};
const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

interface Token {
  t: 'punct' | 'op' | 'str' | 'num' | 'dur' | 'ident';
  v: string;
  n?: number;
  at: number;
}

const MAX_QUERY = 4096;

function tokenize(src: string): Token[] {
  if (src.length > MAX_QUERY) throw new TraceQLError(`query longer than ${MAX_QUERY} characters`);
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      out.push({ t: 'punct', v: two, at: i });
      i += 2;
      continue;
    }
    if (['!=', '=~', '!~', '>=', '<='].includes(two)) {
      out.push({ t: 'op', v: two, at: i });
      i += 2;
      continue;
    }
    if (c === '=' || c === '>' || c === '<') {
      out.push({ t: 'op', v: c, at: i });
      i++;
      continue;
    }
    if ('{}()'.includes(c)) {
      out.push({ t: 'punct', v: c, at: i });
      i++;
      continue;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (c === '"' && src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new TraceQLError(`unterminated string at ${i}`);
      out.push({ t: 'str', v: s, at: i });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(?:\.\d+)?(ns|us|µs|ms|s|m|h)?/.exec(src.slice(i));
    if (num && (c === '-' || /\d/.test(c))) {
      const n = Number(num[0].slice(0, num[0].length - (num[1]?.length ?? 0)));
      if (num[1]) out.push({ t: 'dur', v: num[0], n: n * DURATION_UNITS[num[1]], at: i });
      else out.push({ t: 'num', v: num[0], n, at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_.][A-Za-z0-9_.\-/:]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'ident', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    throw new TraceQLError(`unexpected ${JSON.stringify(c)} at ${i}`);
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token | undefined {
    return this.toks[this.i];
  }
  private next(what: string): Token {
    const t = this.toks[this.i++];
    if (!t) throw new TraceQLError(`query ends where ${what} was expected`);
    return t;
  }
  private expect(v: string): void {
    const t = this.next(`"${v}"`);
    if (t.v !== v || (t.t !== 'punct' && t.t !== 'op'))
      throw new TraceQLError(`expected "${v}" at ${t.at}, found ${JSON.stringify(t.v)}`);
  }

  query(): Query {
    const q = this.orQuery();
    if (this.peek())
      throw new TraceQLError(`unexpected ${JSON.stringify(this.peek()!.v)} at ${this.peek()!.at}`);
    return q;
  }
  private orQuery(): Query {
    let l = this.andQuery();
    while (this.peek()?.v === '||') {
      this.i++;
      l = { t: 'or', l, r: this.andQuery() };
    }
    return l;
  }
  private andQuery(): Query {
    let l = this.spanset();
    while (this.peek()?.v === '&&') {
      this.i++;
      l = { t: 'and', l, r: this.spanset() };
    }
    return l;
  }
  private spanset(): Query {
    const t = this.peek();
    if (t?.v === '(' && t.t === 'punct') {
      this.i++;
      const q = this.orQuery();
      this.expect(')');
      return q;
    }
    this.expect('{');
    if (this.peek()?.v === '}') {
      this.i++;
      return { t: 'set', expr: { t: 'true' } };
    }
    const expr = this.orExpr();
    this.expect('}');
    return { t: 'set', expr };
  }
  private orExpr(): Expr {
    let l = this.andExpr();
    while (this.peek()?.v === '||') {
      this.i++;
      l = { t: 'or', l, r: this.andExpr() };
    }
    return l;
  }
  private andExpr(): Expr {
    let l = this.term();
    while (this.peek()?.v === '&&') {
      this.i++;
      l = { t: 'and', l, r: this.term() };
    }
    return l;
  }
  private term(): Expr {
    if (this.peek()?.v === '(' && this.peek()?.t === 'punct') {
      this.i++;
      const e = this.orExpr();
      this.expect(')');
      return e;
    }
    const f = this.next('a field');
    if (f.t !== 'ident')
      throw new TraceQLError(`expected a field at ${f.at}, found ${JSON.stringify(f.v)}`);
    const field = parseField(f);
    const op = this.next('an operator');
    if (op.t !== 'op')
      throw new TraceQLError(`expected an operator at ${op.at}, found ${JSON.stringify(op.v)}`);
    const v = this.next('a value');
    const value = parseValue(field, v);
    const cond: Expr = { t: 'cond', field, op: op.v as Op, value };
    if (op.v === '=~' || op.v === '!~') {
      if (typeof value !== 'string') throw new TraceQLError(`${op.v} takes a string at ${v.at}`);
      try {
        cond.re = compileLabelRegex(value);
      } catch (err) {
        throw new TraceQLError((err as Error).message);
      }
    }
    return cond;
  }
}

function parseField(t: Token): Field {
  const v = t.v;
  if (v === 'name' || v === 'duration' || v === 'status' || v === 'kind' || v === 'statusMessage')
    return { kind: 'intrinsic', name: v };
  if (v.startsWith('span.') && v.length > 5)
    return { kind: 'attr', scope: 'span', key: v.slice(5) };
  if (v.startsWith('resource.') && v.length > 9)
    return { kind: 'attr', scope: 'resource', key: v.slice(9) };
  if (v.startsWith('.') && v.length > 1) return { kind: 'attr', scope: 'any', key: v.slice(1) };
  throw new TraceQLError(
    `unknown field ${JSON.stringify(v)} at ${t.at}: use name, duration, status, kind, statusMessage, span.<attr>, resource.<attr> or .<attr>`,
  );
}

function parseValue(field: Field, t: Token): Value {
  if (t.t === 'str') return t.v;
  if (t.t === 'num' || t.t === 'dur') return t.n!;
  if (t.t === 'ident') {
    if (t.v === 'true') return true;
    if (t.v === 'false') return false;
    if (field.kind === 'intrinsic' && field.name === 'status' && t.v in STATUS_CODES)
      return STATUS_CODES[t.v];
    if (field.kind === 'intrinsic' && field.name === 'kind' && t.v in SPAN_KINDS)
      return SPAN_KINDS[t.v];
  }
  throw new TraceQLError(`unexpected value ${JSON.stringify(t.v)} at ${t.at}`);
}

function fieldValue(f: Field, s: SpanView): Value | undefined {
  if (f.kind === 'intrinsic') {
    switch (f.name) {
      case 'name':
        return s.name;
      case 'duration':
        return s.durationNanos;
      case 'status':
        return s.statusCode;
      case 'kind':
        return s.kind;
      case 'statusMessage':
        return s.statusMessage;
    }
  }
  if (f.scope === 'span') return s.spanAttributes[f.key];
  if (f.scope === 'resource') return s.resourceAttributes[f.key];
  return s.spanAttributes[f.key] ?? s.resourceAttributes[f.key];
}

function compare(a: Value, op: Op, b: Value, re?: LabelRegex): boolean {
  if (op === '=~') return re!.test(String(a));
  if (op === '!~') return !re!.test(String(a));
  // a number sent as a string attribute still compares as a number with a number literal
  let x: Value = a;
  if (typeof b === 'number' && typeof a === 'string' && a.trim() !== '' && !Number.isNaN(Number(a)))
    x = Number(a);
  if (typeof b === 'string') x = String(a);
  if (typeof x !== typeof b) return op === '!=';
  switch (op) {
    case '=':
      return x === b;
    case '!=':
      return x !== b;
    case '>':
      return x > b;
    case '<':
      return x < b;
    case '>=':
      return x >= b;
    case '<=':
      return x <= b;
  }
}

function test(e: Expr, s: SpanView): boolean {
  switch (e.t) {
    case 'true':
      return true;
    case 'and':
      return test(e.l, s) && test(e.r, s);
    case 'or':
      return test(e.l, s) || test(e.r, s);
    case 'cond': {
      const v = fieldValue(e.field, s);
      if (v === undefined) return false;
      return compare(v, e.op, e.value, e.re);
    }
  }
}

export interface CompiledTraceQL {
  /** the indexes of the spans of one trace the query selects; null when the trace does not match */
  select(spans: readonly SpanView[]): number[] | null;
}

/** Parses a query of the subset; throws TraceQLError. An empty query matches everything. */
export function compileTraceQL(src: string): CompiledTraceQL {
  const toks = tokenize(src);
  const q: Query = toks.length === 0 ? { t: 'set', expr: { t: 'true' } } : new Parser(toks).query();
  const run = (node: Query, spans: readonly SpanView[]): Set<number> | null => {
    if (node.t === 'set') {
      const hit = new Set<number>();
      spans.forEach((s, i) => {
        if (test(node.expr, s)) hit.add(i);
      });
      return hit.size > 0 ? hit : null;
    }
    const l = run(node.l, spans);
    if (node.t === 'and') {
      if (!l) return null;
      const r = run(node.r, spans);
      return r ? new Set([...l, ...r]) : null;
    }
    const r = run(node.r, spans);
    if (!l) return r;
    return r ? new Set([...l, ...r]) : l;
  };
  return {
    select(spans) {
      const r = run(q, spans);
      return r ? [...r].sort((a, b) => a - b) : null;
    },
  };
}
