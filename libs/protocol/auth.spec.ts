import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { basicAuthorization, parseAuthorization } from './auth.js';

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
