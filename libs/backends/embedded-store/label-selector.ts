// Prometheus-style label selectors as Pyroscope's query API takes them:
// `{service_name="app", env=~"prod|dev", pod!="x", region!~"eu-.*"}`. Regexes are RE2, fully
// anchored, as in Prometheus, and match in linear time (model/label-regex.ts): no selector can
// make a match backtrack. Throws SelectorError with the position of the problem.
import { LabelRegexError, compileLabelRegex, type LabelRegex } from '../../model/index.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** compiled for =~ and !~ */
  re?: LabelRegex;
}

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

export function parseSelector(input: string): Matcher[] {
  const s = input.trim();
  if (s === '' || s === '{}') return [];
  if (!s.startsWith('{') || !s.endsWith('}')) {
    throw new SelectorError(`label selector must be enclosed in {}: ${input}`);
  }
  const out: Matcher[] = [];
  let i = 1;
  const end = s.length - 1;
  const skipWs = (): void => {
    while (i < end && /\s/.test(s[i])) i++;
  };
  /** a quoted string at i (the quote is s[i]); escapes as in Go's strconv.Unquote, in brief */
  const readQuoted = (what: string): string => {
    const quote = s[i];
    i++;
    let value = '';
    while (i < end && s[i] !== quote) {
      if (s[i] === '\\' && quote !== '`' && i + 1 < end) {
        const n = s[i + 1];
        value += n === 'n' ? '\n' : n === 't' ? '\t' : n;
        i += 2;
      } else value += s[i++];
    }
    if (s[i] !== quote) throw new SelectorError(`unterminated ${what} in ${input}`);
    i++;
    return value;
  };
  while (true) {
    skipWs();
    if (i >= end) break;
    let name: string;
    if (s[i] === '"' || s[i] === "'") {
      // Prometheus' UTF-8 syntax (what Pyroscope parses with ParseMetricSelector): a quoted
      // label name, `{"otel.scope.name"="x"}`; a quoted string alone is the metric name
      name = readQuoted('label name');
      skipWs();
      if (s[i] === ',' || i >= end) {
        out.push({ name: '__name__', op: '=', value: name });
        if (s[i] === ',') i++;
        continue;
      }
    } else {
      const nameStart = i;
      while (i < end && /[A-Za-z0-9_.]/.test(s[i])) i++;
      name = s.slice(nameStart, i);
    }
    if (name === '') throw new SelectorError(`expected a label name at position ${i} in ${input}`);
    skipWs();
    let op: MatchOp;
    if (s.startsWith('=~', i)) op = '=~';
    else if (s.startsWith('!~', i)) op = '!~';
    else if (s.startsWith('!=', i)) op = '!=';
    else if (s[i] === '=') op = '=';
    else throw new SelectorError(`expected =, !=, =~ or !~ after ${name} in ${input}`);
    i += op.length;
    skipWs();
    const quote = s[i];
    if (quote !== '"' && quote !== "'" && quote !== '`') {
      throw new SelectorError(`expected a quoted value for ${name} in ${input}`);
    }
    const value = readQuoted(`value for ${name}`);
    const m: Matcher = { name, op, value };
    if (op === '=~' || op === '!~') {
      try {
        m.re = compileLabelRegex(value);
      } catch (err) {
        if (!(err instanceof LabelRegexError)) throw err;
        throw new SelectorError(`${name}${op}: ${err.message}`);
      }
    }
    out.push(m);
    skipWs();
    if (s[i] === ',') i++;
    else if (i < end) throw new SelectorError(`expected , or } at position ${i} in ${input}`);
  }
  return out;
}

/** Whether a label set (missing label = "") satisfies every matcher. */
export function matches(
  labels: ReadonlyMap<string, string>,
  matchers: readonly Matcher[],
): boolean {
  for (const m of matchers) {
    const v = labels.get(m.name) ?? '';
    switch (m.op) {
      case '=':
        if (v !== m.value) return false;
        break;
      case '!=':
        if (v === m.value) return false;
        break;
      case '=~':
        if (!m.re!.test(v)) return false;
        break;
      case '!~':
        if (m.re!.test(v)) return false;
        break;
    }
  }
  return true;
}
