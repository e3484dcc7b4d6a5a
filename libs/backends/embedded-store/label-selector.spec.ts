import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SelectorError, matches, parseSelector } from './label-selector.js';

describe('parseSelector', () => {
  it('parses the four operators, quotes and escapes', () => {
    const m = parseSelector(
      `{service_name="app", env=~"prod|dev", pod != 'x', region!~"eu-.*", msg="a\\"b"}`,
    );
    assert.deepEqual(
      m.map(({ name, op, value }) => [name, op, value]),
      [
        ['service_name', '=', 'app'],
        ['env', '=~', 'prod|dev'],
        ['pod', '!=', 'x'],
        ['region', '!~', 'eu-.*'],
        ['msg', '=', 'a"b'],
      ],
    );
    assert.deepEqual(parseSelector('{}'), []);
    assert.deepEqual(parseSelector(''), []);
  });

  it('anchors regexes and treats a missing label as empty', () => {
    const ms = parseSelector('{env=~"prod|dev", team!~".+"}');
    assert.equal(matches(new Map([['env', 'prod']]), ms), true);
    assert.equal(matches(new Map([['env', 'production']]), ms), false);
    assert.equal(
      matches(
        new Map([
          ['env', 'dev'],
          ['team', 'a'],
        ]),
        ms,
      ),
      false,
    );
  });

  it('reports malformed selectors with SelectorError', () => {
    for (const bad of [
      'service_name="x"',
      '{a}',
      '{a="x"',
      '{a=x}',
      '{a=~"("}',
      '{="x"}',
      '{a="x" b="y"}',
    ]) {
      assert.throws(() => parseSelector(bad), SelectorError, bad);
    }
  });

  it('never throws anything but SelectorError (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parseSelector(s);
        } catch (err) {
          if (!(err instanceof SelectorError)) throw err;
        }
      }),
    );
  });
});
