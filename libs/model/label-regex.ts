import { RE2JS } from 're2js';

// Regular expressions over label names and values, with the semantics Prometheus and Pyroscope
// give them: RE2 syntax (Go's regexp), fully anchored, `.` matching a newline
// (`^(?s:<regex>)$`, as Prometheus' FastRegexMatcher and relabel.NewRegexp compile them). They
// run on re2js, a port of RE2 that matches in time linear in the input: a hostile pattern such
// as `(a+)+` cannot backtrack (docs/adr/0010-re2-label-regexes.md). JavaScript's RegExp is never
// used on a pattern a user wrote.
//
// Contract: `compileLabelRegex` throws LabelRegexError (with RE2's message) for a pattern RE2
// rejects, including Perl-only syntax RE2 has no linear-time form for (lookahead,
// backreferences), and for one whose compiled program exceeds MAX_PROGRAM_SIZE; the compiled
// object never throws.

/**
 * Largest compiled program accepted (RE2 instructions). Matching costs about program size x
 * value length steps, so this bounds the work per label value; `(a|b|c){1000}` is ~6,000.
 */
export const MAX_PROGRAM_SIZE = 20_000;

export class LabelRegexError extends Error {
  override readonly name = 'LabelRegexError';
}

export interface LabelRegex {
  /** the pattern as written, without the anchors */
  readonly source: string;
  /** whether the whole value matches */
  test(value: string): boolean;
  /**
   * Capture groups of a whole-value match: [0] is the value, [i] group i ('' when it did not
   * take part), plus named groups; null when the value does not match.
   */
  exec(value: string): LabelRegexMatch | null;
}

export interface LabelRegexMatch {
  groups: string[];
  named: Record<string, string>;
}

class Re2LabelRegex implements LabelRegex {
  private readonly names: [string, number][];

  constructor(
    readonly source: string,
    private readonly re: RE2JS,
  ) {
    this.names = Object.entries(re.namedGroups());
  }

  test(value: string): boolean {
    return this.re.testExact(value);
  }

  exec(value: string): LabelRegexMatch | null {
    const m = this.re.matcher(value);
    if (!m.matches()) return null;
    const groups: string[] = [];
    for (let i = 0; i <= m.groupCount(); i++) groups.push(m.group(i) ?? '');
    const named: Record<string, string> = {};
    for (const [name, i] of this.names) named[name] = groups[i] ?? '';
    return { groups, named };
  }
}

const cache = new Map<string, LabelRegex>();
const CACHE_MAX = 1_000;

/** Compiles `source` as an anchored RE2 pattern; throws LabelRegexError when RE2 rejects it. */
export function compileLabelRegex(source: string): LabelRegex {
  const hit = cache.get(source);
  if (hit) return hit;
  let re: RE2JS;
  try {
    // compiled alone first: a pattern such as `a)|(b` would otherwise close the anchoring group
    // and leave an unanchored alternative behind
    RE2JS.compile(source);
    re = RE2JS.compile(`^(?s:${source})$`);
  } catch (err) {
    // RE2's messages name the problem and the offending fragment: "missing closing ): `(a`"
    const msg = (err as Error).message.replace(/^error parsing regexp: /, '');
    throw new LabelRegexError(`invalid regex ${JSON.stringify(source)}: ${msg}`);
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) {
    throw new LabelRegexError(
      `regex ${JSON.stringify(source.length > 80 ? `${source.slice(0, 80)}...` : source)} is too large: its program has ${re.programSize()} instructions, the limit is ${MAX_PROGRAM_SIZE}`,
    );
  }
  const compiled = new Re2LabelRegex(source, re);
  // Selectors repeat (dashboards refresh the same query): keep a bounded set of compiled ones.
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(source, compiled);
  return compiled;
}
