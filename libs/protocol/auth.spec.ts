import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { basicAuthorization, parseAuthorization, resolveTenant } from './auth.js';
import { ProtocolError } from './errors.js';

describe('parseAuthorization (§1.8)', () => {
  it('Grafana Cloud basic auth: stack id and token', () => {
    assert.deepEqual(
      parseAuthorization('Basic ' + Buffer.from('123456:glc_token==:x').toString('base64')),
      {
        scheme: 'basic',
        username: '123456',
        password: 'glc_token==:x', // split at the first colon only
      },
    );
  });
  it('scheme is case-insensitive; bearer keeps the token as sent', () => {
    assert.deepEqual(parseAuthorization('basic ' + Buffer.from('u:').toString('base64')), {
      scheme: 'basic',
      username: 'u',
      password: '',
    });
    assert.deepEqual(parseAuthorization('Bearer psx-abc.def'), {
      scheme: 'bearer',
      token: 'psx-abc.def',
    });
    assert.deepEqual(parseAuthorization('BEARER t'), { scheme: 'bearer', token: 't' });
  });
  it('absent, malformed and unknown', () => {
    assert.deepEqual(parseAuthorization(undefined), { scheme: 'none' });
    assert.deepEqual(parseAuthorization(''), { scheme: 'none' });
    assert.equal(parseAuthorization('Basic !!!').scheme, 'invalid');
    assert.equal(
      parseAuthorization('Basic ' + Buffer.from('nocolon').toString('base64')).scheme,
      'invalid',
    );
    assert.equal(parseAuthorization('Basic dXNlcjpwYXNz=').scheme, 'invalid'); // bad padding
    assert.equal(parseAuthorization('Bearer ').scheme, 'invalid');
    assert.equal(parseAuthorization('Digest x').scheme, 'invalid');
  });
  it('round-trips any user (without colon) and password', () => {
    fc.assert(
      fc.property(
        fc.string().filter((u) => !u.includes(':')),
        fc.string(),
        (u, p) => {
          // lone surrogates do not survive UTF-8; agents send UTF-8
          fc.pre(Buffer.from(u + p).toString() === u + p);
          assert.deepEqual(parseAuthorization(basicAuthorization(u, p)), {
            scheme: 'basic',
            username: u,
            password: p,
          });
        },
      ),
    );
  });
  it('never throws', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseAuthorization(s)));
  });
});

describe('resolveTenant', () => {
  it('is anonymous without multitenancy, the header with it', () => {
    assert.equal(resolveTenant('team-a', { multitenancy: false }), 'anonymous');
    assert.equal(resolveTenant(undefined, { multitenancy: false }), 'anonymous');
    assert.equal(resolveTenant("team-a_1.(x)*'!", { multitenancy: true }), "team-a_1.(x)*'!");
  });
  it('rejects with 401 and dskit messages', () => {
    const cases: [string | undefined, string][] = [
      [undefined, 'no org id'],
      ['', 'no org id'],
      ['a|b', 'multiple org IDs present'],
      ['a b', "tenant ID 'a b' contains unsupported character ' '"],
      ['x'.repeat(151), 'tenant ID is too long: max 150 characters'],
      ['..', "tenant ID is '.' or '..'"],
    ];
    for (const [h, message] of cases) {
      assert.throws(
        () => resolveTenant(h, { multitenancy: true }),
        (e: unknown) =>
          e instanceof ProtocolError &&
          e.status === 401 &&
          e.code === 'unauthenticated' &&
          e.message === message,
      );
    }
  });
});
