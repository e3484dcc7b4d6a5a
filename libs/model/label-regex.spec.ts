import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelRegexError, MAX_PROGRAM_SIZE, compileLabelRegex } from './label-regex.js';

describe('label regexes (RE2, anchored, linear time)', () => {
  it('matches whole values only, with . matching a newline (Prometheus ^(?s:...)$)', () => {
    const re = compileLabelRegex('prod|dev');
    assert.equal(re.test('prod'), true);
    assert.equal(re.test('production'), false);
    assert.equal(re.test('xdev'), false);
    assert.equal(compileLabelRegex('a.*b').test('a\nb'), true);
    assert.equal(compileLabelRegex('').test(''), true);
    assert.equal(compileLabelRegex('').test('x'), false);
  });

  it(
    'answers a catastrophic-backtracking pattern on a long hostile value (regression: (a+)+ took 23 s)',
    { timeout: 60_000 },
    () => {
      // With a backtracking engine 29 a's and a "!" already take 23 s, and every further a doubles
      // it: this input would not finish in the lifetime of the machine. RE2 walks it once.
      for (const pattern of ['(a+)+', '(a|a)+', '(a*)*b', '(.*a){20}']) {
        const re = compileLabelRegex(pattern);
        assert.equal(re.test(`${'a'.repeat(29)}!`), false, pattern);
        assert.equal(re.test(`${'a'.repeat(100_000)}!`), false, pattern);
      }
      assert.equal(compileLabelRegex('(a+)+').test('a'.repeat(100_000)), true);
    },
  );

  it('rejects what RE2 rejects, with its message', () => {
    for (const [pattern, message] of [
      ['(a', /missing closing \)/],
      ['a(?=b)', /invalid or unsupported Perl syntax/],
      ['(a)\\1', /invalid escape sequence/],
      ['[z-a]', /invalid character class range/],
      ['a**', /invalid nested repetition operator/],
    ] as const) {
      assert.throws(
        () => compileLabelRegex(pattern),
        (err) => err instanceof LabelRegexError && message.test(err.message),
        pattern,
      );
    }
  });

  it('keeps a pattern inside its anchors (regression: "a)|(b" left an unanchored alternative)', () => {
    assert.throws(() => compileLabelRegex('a)|(b'), LabelRegexError);
    assert.throws(() => compileLabelRegex('.*)|(.*'), LabelRegexError);
  });

  it('refuses patterns whose program exceeds the size limit', () => {
    assert.throws(
      () => compileLabelRegex('(abcdefghij|klmnopqrst){1000}'),
      (err) => err instanceof LabelRegexError && err.message.includes(String(MAX_PROGRAM_SIZE)),
    );
    assert.equal(compileLabelRegex('(a|b){100}').test('ab'.repeat(50)), true);
  });

  it('returns numbered and named groups of a whole match', () => {
    const m = compileLabelRegex('(?P<app>[a-z]+)-(\\d+)(x)?').exec('api-42');
    assert.deepEqual(m, { groups: ['api-42', 'api', '42', ''], named: { app: 'api' } });
    assert.equal(compileLabelRegex('(a)(b)').exec('abc'), null);
  });
});
