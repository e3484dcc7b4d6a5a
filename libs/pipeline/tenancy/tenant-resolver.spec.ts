import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import { TenantResolver } from './tenant-resolver.js';

function resolver(yaml: string, env: Record<string, string> = {}): TenantResolver {
  const dir = mkdtempSync(join(tmpdir(), 'ember-tenants-'));
  writeFileSync(join(dir, 'c.yaml'), yaml);
  return new TenantResolver(loadConfig({ ...env, EMBER_CONFIG: join(dir, 'c.yaml') }));
}

const YAML = [
  'tenants:',
  '  acme:',
  '    credentials:',
  '      - bearer: s3cret-token',
  '      - basic: {username: "123456", password: glc_abc}',
].join('\n');

const unauthorized = (re: RegExp) => (e: unknown) =>
  e instanceof HttpFailure && e.status === 401 && re.test(e.message);

describe('TenantResolver', () => {
  it('defaults to anonymous, as Pyroscope does, and reads X-Scope-OrgID', () => {
    const r = resolver(YAML);
    assert.equal(r.resolve({}), 'anonymous');
    assert.equal(r.resolve({ 'x-scope-orgid': ' team-a ' }), 'team-a');
  });

  it('requires the header when EMBER_REQUIRE_TENANT is on', () => {
    const r = resolver(YAML, { EMBER_REQUIRE_TENANT: 'true' });
    assert.throws(() => r.resolve({}), unauthorized(/X-Scope-OrgID/));
    assert.throws(
      () => r.resolve({ 'x-scope-orgid': 'bad tenant/x' }),
      unauthorized(/invalid X-Scope-OrgID/),
    );
  });

  it('checks Bearer and Basic credentials as the agents send them, without echoing them', () => {
    const r = resolver(YAML);
    const basic = `Basic ${Buffer.from('123456:glc_abc').toString('base64')}`;
    assert.equal(
      r.resolve({ 'x-scope-orgid': 'acme', authorization: 'Bearer s3cret-token' }),
      'acme',
    );
    assert.equal(r.resolve({ 'x-scope-orgid': 'acme', authorization: basic }), 'acme');
    assert.throws(
      () => r.resolve({ 'x-scope-orgid': 'acme' }),
      unauthorized(/requires credentials/),
    );
    assert.throws(
      () => r.resolve({ 'x-scope-orgid': 'acme', authorization: 'Bearer wrong' }),
      (e) =>
        unauthorized(/invalid credentials for tenant acme/)(e) &&
        !(e as Error).message.includes('wrong'),
    );
    // a tenant without configured credentials is open, like Pyroscope's OSS server
    assert.equal(
      r.resolve({ 'x-scope-orgid': 'other', authorization: 'Bearer anything' }),
      'other',
    );
  });

  it('takes the auth scheme in any case, as RFC 9110 says (regression: "bearer <token>" was refused)', () => {
    const r = resolver(YAML);
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      assert.equal(
        r.resolve({ 'x-scope-orgid': 'acme', authorization: `${scheme} s3cret-token` }),
        'acme',
      );
    }
    const b64 = Buffer.from('123456:glc_abc').toString('base64');
    assert.equal(r.resolve({ 'x-scope-orgid': 'acme', authorization: `basic ${b64}` }), 'acme');
    assert.equal(r.resolve({ 'x-scope-orgid': 'acme', authorization: `BASIC ${b64}` }), 'acme');
    // the scheme is not the secret: a bearer token sent as Basic does not pass, nor the reverse
    assert.throws(
      () =>
        r.resolve({
          'x-scope-orgid': 'acme',
          authorization: `Basic ${Buffer.from('s3cret-token').toString('base64')}`,
        }),
      unauthorized(/invalid credentials/),
    );
    assert.throws(
      () => r.resolve({ 'x-scope-orgid': 'acme', authorization: 'Bearer 123456:glc_abc' }),
      unauthorized(/invalid credentials/),
    );
    assert.throws(
      () => r.resolve({ 'x-scope-orgid': 'acme', authorization: 'Digest x' }),
      unauthorized(/invalid credentials/),
    );
  });

  it('refuses tenants that are not configured in closed mode', () => {
    const r = resolver(`${YAML}\n  open-team: {}\ntenancy: {closed: true}`);
    assert.equal(r.resolve({ 'x-scope-orgid': 'open-team' }), 'open-team');
    assert.throws(
      () => r.resolve({ 'x-scope-orgid': 'invented-42' }),
      unauthorized(/unknown tenant invented-42.*tenancy\.closed/),
    );
    // no header: the default tenant, which is not configured either
    assert.throws(() => r.resolve({}), unauthorized(/unknown tenant anonymous/));
  });

  it('requires credentials of every tenant with tenancy.requireCredentials (regression: unconfigured tenants needed none)', () => {
    const r = resolver(`${YAML}\ntenancy: {requireCredentials: true}`, {
      EMBER_REQUIRE_TENANT: 'true',
    });
    assert.throws(
      () => r.resolve({ 'x-scope-orgid': 'invented-7' }),
      unauthorized(/has no credentials configured .*requireCredentials/),
    );
    assert.throws(() => r.resolve({}), unauthorized(/X-Scope-OrgID/));
    assert.equal(
      r.resolve({ 'x-scope-orgid': 'acme', authorization: 'Bearer s3cret-token' }),
      'acme',
    );
    // a configured tenant without credentials could never send: refused at boot
    assert.throws(
      () => resolver(`${YAML}\n  nokey: {}\ntenancy: {requireCredentials: true}`),
      (e: Error) =>
        /tenants\.nokey: no credentials, but tenancy\.requireCredentials is on/.test(e.message),
    );
  });
});
