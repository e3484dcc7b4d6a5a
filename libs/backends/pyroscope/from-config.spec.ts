import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../runtime/config.js';
import { pyroscopeBackendFromConfig } from './from-config.js';

function withFile(yaml: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ember-cfg-'));
  const path = join(dir, 'c.yaml');
  writeFileSync(path, yaml);
  return loadConfig({ EMBER_CONFIG: path, ...env });
}

describe('backends configuration', () => {
  it('defaults: embedded store on, no Pyroscope endpoint', () => {
    const c = loadConfig({});
    assert.deepEqual(c.backends.pyroscope, []);
    assert.equal(c.backends.embedded.enabled, true);
    assert.equal(c.backends.embedded.retention, 7 * 86_400_000);
  });

  it('reads endpoints with tenants, credentials, headers, timeouts, retry and batch limits', () => {
    const c = withFile(`
backends:
  embedded: { enabled: false }
  pyroscope:
    - name: primary
      url: https://pyro.example:4040
      tenants: { team-a: org-a, "*": shared }
      basicAuth: { username: u, password: p }
      headers: { X-Extra: "1" }
      timeout: 10s
      rejectOlderThan: 30m
      retry: { initialInterval: 200ms, maxElapsed: 2m }
      batch: { maxSeries: 100, maxBytes: 1048576, maxRequestBytes: 524288 }
    - url: http://second:4040
`);
    assert.equal(c.backends.embedded.enabled, false);
    const [a, b] = c.backends.pyroscope;
    assert.equal(a.name, 'primary');
    assert.equal(b.name, 'pyroscope-second_4040');
    const backend = pyroscopeBackendFromConfig(a);
    assert.equal(backend.orgIdFor('team-a'), 'org-a');
    assert.equal(backend.orgIdFor('team-b'), 'shared');
    assert.equal(pyroscopeBackendFromConfig(b).orgIdFor('team-b'), 'team-b');
    assert.equal(backend.sending?.timeoutMs, 10_000);
    assert.equal(backend.sending?.rejectOlderThanMs, 30 * 60_000);
    assert.equal(backend.sending?.retry?.initialIntervalMs, 200);
    assert.equal(backend.sending?.retry?.maxElapsedMs, 120_000);
    assert.equal(backend.sending?.batch?.maxItems, 100);
    // a chunk never exceeds one request
    assert.equal(backend.sending?.batch?.maxBytes, 524288);
  });

  it('takes EMBER_PYROSCOPE_URL as a shortcut, with credentials from the URL', () => {
    const c = loadConfig({ EMBER_PYROSCOPE_URL: 'http://user:p%40ss@pyro:4040' });
    const [e] = c.backends.pyroscope;
    assert.equal(e.url, 'http://pyro:4040');
    assert.deepEqual(e.basicAuth, { username: 'user', password: 'p@ss' });
    assert.equal(e.rejectOlderThan, 3_600_000);
    const t = loadConfig({
      EMBER_PYROSCOPE_URL: 'https://pyro',
      EMBER_PYROSCOPE_BEARER_TOKEN: 'tok',
      EMBER_EMBEDDED_STORE: 'false',
    });
    assert.equal(t.backends.pyroscope[0].bearerToken, 'tok');
    assert.equal(t.backends.embedded.enabled, false);
  });

  it('rejects duplicate names, both credentials, and bad durations, listing every problem', () => {
    assert.throws(
      () =>
        withFile(`
backends:
  pyroscope:
    - { url: "http://a:1", timeout: soon }
    - { url: "http://b:1", basicAuth: { username: u, password: p }, bearerToken: t }
`),
      (e) =>
        e instanceof ConfigError &&
        e.problems.some((p) => /timeout/.test(p)) &&
        e.problems.some((p) => /basicAuth or bearerToken/.test(p)),
    );
    assert.throws(
      () =>
        withFile(`
backends:
  pyroscope:
    - { url: "http://a:1", name: x }
    - { url: "http://b:1", name: x }
`),
      (e) => e instanceof ConfigError && /two endpoints are named "x"/.test(e.message),
    );
  });
});
