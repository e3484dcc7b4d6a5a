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

describe('selector regexes', () => {
  it(
    'match a hostile value in linear time (regression: k=~"(a+)+" blocked the process for 23 s)',
    { timeout: 60_000 },
    () => {
      const ms = parseSelector('{k=~"(a+)+", j!~"(a|aa)+$"}');
      const hostile = `${'a'.repeat(50_000)}!`;
      assert.equal(matches(new Map([['k', hostile]]), ms), false);
      assert.equal(
        matches(
          new Map([
            ['k', 'aaaa'],
            ['j', hostile],
          ]),
          ms,
        ),
        true,
      );
    },
  );

  it('take RE2 syntax and refuse what RE2 refuses, as Pyroscope does', () => {
    assert.equal(matches(new Map([['k', 'x\ny']]), parseSelector('{k=~"x.y"}')), true);
    assert.equal(matches(new Map([['k', 'ab']]), parseSelector('{k=~"(?i)AB"}')), true);
    assert.throws(
      () => parseSelector('{k=~"a(?=b)"}'),
      (e) => e instanceof SelectorError && /k=~/.test(e.message),
    );
    assert.throws(() => parseSelector('{k=~"(a)\\\\1"}'), SelectorError);
  });
});

describe('quoted UTF-8 label names (Prometheus syntax, as Pyroscope parses selectors)', () => {
  it('{"otel.scope.name"="x"} matches the dotted name; a quoted string alone is __name__', () => {
    const m = parseSelector(
      '{"otel.scope.name"="x", \'process.runtime.name\'=~"no.*", "process_cpu"}',
    );
    assert.deepEqual(
      m.map((x) => [x.name, x.op, x.value]),
      [
        ['otel.scope.name', '=', 'x'],
        ['process.runtime.name', '=~', 'no.*'],
        ['__name__', '=', 'process_cpu'],
      ],
    );
    const labels = new Map([
      ['otel.scope.name', 'x'],
      ['process.runtime.name', 'node'],
      ['__name__', 'process_cpu'],
    ]);
    assert.ok(matches(labels, m));
    assert.ok(!matches(new Map([['otel.scope.name', 'y']]), m));
    assert.throws(() => parseSelector('{"otel.scope.name="x"}'), SelectorError);
  });
});
