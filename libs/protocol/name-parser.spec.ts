import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isProtocolError, ProtocolError } from './errors.js';
import { normalizedName, parseLabelSet } from './name-parser.js';

function labels(name: string): Record<string, string> {
  const ls = parseLabelSet(name);
  return { __name__: ls.serviceName, ...Object.fromEntries(ls.labels) };
}

function errorOf(name: string): ProtocolError {
  try {
    parseLabelSet(name);
  } catch (e) {
    assert.ok(e instanceof ProtocolError);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(name)} to be rejected`);
}

describe('parseLabelSet: examples from Pyroscope labelset_test.go (§1.2)', () => {
  it('bare name', () => assert.deepEqual(labels('foo'), { __name__: 'foo' }));
  it('simple values', () =>
    assert.deepEqual(labels('foo{bar=1,baz=2}'), { __name__: 'foo', bar: '1', baz: '2' }));
  it('spaces everywhere are trimmed', () =>
    assert.deepEqual(labels(' foo { bar = 1 , baz = 2 } '), {
      __name__: 'foo',
      bar: '1',
      baz: '2',
    }));
  it('normalized sorts keys', () => {
    assert.equal(normalizedName(parseLabelSet('foo')), 'foo{}');
    assert.equal(normalizedName(parseLabelSet('foo{bar=1,baz=2}')), 'foo{bar=1,baz=2}');
    assert.equal(normalizedName(parseLabelSet('foo{baz=1,bar=2}')), 'foo{bar=2,baz=1}');
  });
});

describe('parseLabelSet: the state machine corners', () => {
  it('a missing } drops the last pair', () => {
    assert.deepEqual(labels('app{a=1'), { __name__: 'app' });
    assert.deepEqual(labels('app{a=1,b=2'), { __name__: 'app', a: '1' });
  });
  it('a pending key without = is dropped', () => {
    assert.deepEqual(labels('app{foo}'), { __name__: 'app' });
    assert.deepEqual(labels('app{a=1,foo}'), { __name__: 'app', a: '1' });
  });
  it('last duplicate wins, first position kept', () => {
    const ls = parseLabelSet('app{a=1,b=2,a=3}');
    assert.deepEqual(
      [...ls.labels],
      [
        ['a', '3'],
        ['b', '2'],
      ],
    );
  });
  it('= and { inside a value are literal; inner spaces kept', () => {
    assert.deepEqual(labels('app{a=x=y,b=c{d,e= two words }'), {
      __name__: 'app',
      a: 'x=y',
      b: 'c{d',
      e: 'two words',
    });
  });
  it('empty value is a label with an empty value', () =>
    assert.deepEqual(labels('app{a=}'), { __name__: 'app', a: '' }));
  it('text after a } that closed a key is ignored', () =>
    assert.deepEqual(labels('app{}b=2,c=3}'), { __name__: 'app' }));
  it('a } that closes a value returns to key state: later pairs still count (as in Pyroscope)', () =>
    assert.deepEqual(labels('foo{a=1}b=2,c=3}'), { __name__: 'foo', a: '1', b: '2', c: '3' }));
  it('__name__ in braces overrides the app name without validation', () =>
    assert.deepEqual(labels('app{__name__=not valid!}'), { __name__: 'not valid!' }));
  it('dots, __session_id__ and otel names are valid label names', () =>
    assert.deepEqual(
      labels('myapp{__session_id__=3e8c,otel.scope.name=com.grafana.pyroscope/go}'),
      {
        __name__: 'myapp',
        __session_id__: '3e8c',
        'otel.scope.name': 'com.grafana.pyroscope/go',
      },
    ));
  it('trims as Go strings.TrimSpace: U+0085 and NBSP trimmed, U+FEFF kept', () => {
    assert.deepEqual(labels('\u0085app\u00a0{a=\u00a01\u0085}'), { __name__: 'app', a: '1' });
    assert.equal(
      errorOf('\ufeffapp').message,
      "invalid service name: \ufeffapp: character is not allowed: '\\ufeff'",
    );
  });
  it('a __proto__ label is an ordinary label', () => {
    const ls = parseLabelSet('app{__proto__=x}');
    assert.equal(ls.labels.get('__proto__'), 'x');
  });
});

describe('parseLabelSet: Pyroscope error messages (400, invalid_labels)', () => {
  const cases: [string, string][] = [
    ['', 'service name is required'],
    ['  {a=1}', 'service name is required'],
    ['my app', "invalid service name: my app: character is not allowed: ' '"],
    ['app!{a=1}', "invalid service name: app!: character is not allowed: '!'"],
    ['a\tb{a=1}', "invalid service name: a\tb: character is not allowed: '\\t'"],
    ['app\u0001', "invalid service name: app\u0001: character is not allowed: '\\x01'"],
    ['app\u200b', "invalid service name: app\u200b: character is not allowed: '\\u200b'"],
    ['appé', "invalid service name: appé: character is not allowed: 'é'"],
    ["app'", "invalid service name: app': character is not allowed: '\\''"],
    ['app{=1}', 'label name is required'],
    ['app{ =1}', 'label name is required'],
    ['app{a-b=1}', "invalid label name: a-b: character is not allowed: '-'"],
    ['app{a b=1}', "invalid label name: a b: character is not allowed: ' '"],
    ['app{a,b=1}', "invalid label name: a,b: character is not allowed: ','"],
    ['app{a=1},b=2}', "invalid label name: ,b: character is not allowed: ','"],
    ['app{{a=1}', "invalid label name: {a: character is not allowed: '{'"],
  ];
  for (const [input, message] of cases) {
    it(JSON.stringify(input), () => {
      const e = errorOf(input);
      assert.equal(e.message, message);
      assert.equal(e.status, 400);
      assert.equal(e.code, 'invalid_argument');
      assert.equal(e.reason, 'invalid_labels');
      assert.equal(e.kind, 'invalid_name');
    });
  }
});

describe('parseLabelSet: properties', () => {
  const nameChar = fc.constantFrom(...'abcXYZ019_.-/'.split(''));
  const keyChar = fc.constantFrom(...'abcXYZ019_.'.split(''));
  const valueChar = fc.constantFrom(...'abc 019_.-/={é😀:'.split(''));
  const serviceName = fc.string({ unit: nameChar, minLength: 1, maxLength: 12 });
  const key = fc
    .string({ unit: keyChar, minLength: 1, maxLength: 8 })
    .filter((k) => k !== '__name__');
  const value = fc.string({ unit: valueChar, maxLength: 10 });
  const labelSet = fc.record({
    serviceName,
    labels: fc.array(fc.tuple(key, value), { maxLength: 8 }),
  });

  it('normalizedName(parse(x)) parses back to the same labels', () => {
    fc.assert(
      fc.property(labelSet, ({ serviceName: svc, labels: pairs }) => {
        const name = `${svc}{${pairs.map(([k, v]) => `${k}=${v}`).join(',')}}`;
        const first = parseLabelSet(name);
        const again = parseLabelSet(normalizedName(first));
        assert.equal(again.serviceName, first.serviceName);
        assert.deepEqual(new Map([...again.labels].sort()), new Map([...first.labels].sort()));
        assert.equal(normalizedName(again), normalizedName(first));
      }),
    );
  });

  it('values are trimmed and last duplicate wins', () => {
    fc.assert(
      fc.property(labelSet, ({ serviceName: svc, labels: pairs }) => {
        const name = `${svc}{${pairs.map(([k, v]) => `${k}=${v}`).join(',')}}`;
        const expected = new Map<string, string>();
        for (const [k, v] of pairs) expected.set(k, v.trim());
        assert.deepEqual(parseLabelSet(name).labels, expected);
      }),
    );
  });

  it('never throws anything but ProtocolError', () => {
    const anyChar = fc.constantFrom(...'a_.{}=, \t-/é\u0085😀\u0000'.split(''), '\ud800');
    fc.assert(
      fc.property(fc.string({ unit: anyChar, maxLength: 24 }), (s) => {
        try {
          const ls = parseLabelSet(s);
          assert.ok(!ls.labels.has('__name__'));
        } catch (e) {
          assert.ok(isProtocolError(e), String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
