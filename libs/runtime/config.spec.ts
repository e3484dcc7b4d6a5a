import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, tenantLimits } from './config.js';
import { parseTargets } from './targets.js';

describe('loadConfig', () => {
  it('gives the embedded defaults on an empty environment', () => {
    const c = loadConfig({});
    assert.equal(c.http.port, 9529);
    assert.deepEqual(c.targets, ['ingest', 'decoder', 'exporter']);
    assert.equal(c.kafka, null);
    assert.equal(c.redis, null);
    assert.equal(c.ingest.maxBodyBytes, 32 * 1024 * 1024);
    assert.equal(c.ingest.dedupeWindowMs, 600_000);
  });

  it('reads the Kafka and Redis settings', () => {
    const c = loadConfig({
      EMBER_KAFKA_BROKERS: 'a:9092, b:9093',
      EMBER_REDIS_URL: 'redis://r:6379',
      EMBER_TARGETS: 'decoder',
      EMBER_DEDUPE_WINDOW: '30s',
    });
    assert.deepEqual(c.kafka?.brokers, ['a:9092', 'b:9093']);
    assert.equal(c.redis?.url, 'redis://r:6379');
    assert.deepEqual(c.targets, ['decoder']);
    assert.equal(c.ingest.dedupeWindowMs, 30_000);
  });

  it('lists every problem at once', () => {
    try {
      loadConfig({
        EMBER_HTTP_PORT: 'eighty',
        EMBER_TARGETS: 'ingest,querier',
        EMBER_REDIS_URL: 'localhost:6379',
        EMBER_KAFKA_BROKERS: 'nohost',
      });
      assert.fail('expected ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      assert.match(text, /EMBER_HTTP_PORT/);
      assert.match(text, /unknown target\(s\) querier/);
      assert.match(text, /EMBER_REDIS_URL/);
      assert.match(text, /"nohost" is not host:port/);
      assert.ok(err.problems.length >= 4);
    }
  });

  it('refuses split targets without Kafka', () => {
    assert.throws(() => loadConfig({ EMBER_TARGETS: 'ingest' }), /needs EMBER_KAFKA_BROKERS/);
  });

  it('reads tenants and limits from the YAML file and reports its errors with their path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-config-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      'globalTags: {cluster: eu-1}\nlimits: {ingestionRateBytes: 1000}\ntenants:\n  acme:\n    credentials: [{bearer: s3cret}]\n    limits: {ingestionRateBytes: 5}\n',
    );
    const c = loadConfig({ EMBER_CONFIG: good });
    assert.equal(c.file.globalTags.cluster, 'eu-1');
    assert.equal(tenantLimits(c, 'acme').ingestionRateBytes, 5);
    assert.equal(tenantLimits(c, 'other').ingestionRateBytes, 1000);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'tenants:\n  acme:\n    credentials: [{bearer: ""}]\nunknownKey: 1\n');
    assert.throws(
      () => loadConfig({ EMBER_CONFIG: bad }),
      (err: Error) => /unknownKey|Unrecognized/.test(err.message) && /tenants/.test(err.message),
    );
    assert.throws(() => loadConfig({ EMBER_CONFIG: join(dir, 'missing.yaml') }), /cannot read/);
  });
});

describe('the bind address', () => {
  it('is 127.0.0.1 on embedded defaults with no credentials, else 0.0.0.0, unless set', () => {
    const local = loadConfig({});
    assert.equal(local.http.host, '127.0.0.1');
    assert.equal(local.http.loopbackByDefault, true);
    assert.equal(loadConfig({ EMBER_KAFKA_BROKERS: 'k:9092' }).http.host, '0.0.0.0');
    assert.equal(loadConfig({ EMBER_REDIS_URL: 'redis://r:6379' }).http.host, '0.0.0.0');
    const dir = mkdtempSync(join(tmpdir(), 'ember-cfg-'));
    const creds = join(dir, 'creds.yaml');
    writeFileSync(creds, 'tenants:\n  shop:\n    credentials: [{ bearer: t0ken }]\n');
    const withCreds = loadConfig({ EMBER_CONFIG: creds });
    assert.equal(withCreds.http.host, '0.0.0.0');
    assert.equal(withCreds.http.loopbackByDefault, false);
    const set = loadConfig({ EMBER_HTTP_HOST: '0.0.0.0' });
    assert.equal(set.http.host, '0.0.0.0');
    assert.equal(set.http.loopbackByDefault, false);
    assert.equal(
      loadConfig({ EMBER_HTTP_HOST: '127.0.0.1', EMBER_KAFKA_BROKERS: 'k:9092' }).http.host,
      '127.0.0.1',
    );
  });
});

describe('tenant limits', () => {
  it('a tenant that overrides one limit keeps the global value of the others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ember-cfg-'));
    const file = join(dir, 'limits.yaml');
    writeFileSync(
      file,
      'limits:\n  ingestionRateBytes: 8388608\n  maxProfileBytes: 2097152\ntenants:\n  acme:\n    limits:\n      maxProfileBytes: 1048576\n',
    );
    const c = loadConfig({ EMBER_CONFIG: file });
    assert.deepEqual(c.file.tenants.acme.limits, { maxProfileBytes: 1048576 });
    assert.deepEqual(tenantLimits(c, 'acme'), {
      ingestionRateBytes: 8388608,
      ingestionBurstBytes: 2 * 1024 * 1024,
      maxProfileBytes: 1048576,
      // the ingestion window (issue 15, item 8): off unless set
      rejectOlderThan: 0,
      rejectNewerThan: 0,
    });
    assert.equal(tenantLimits(c, 'other').maxProfileBytes, 2097152);
  });
});

describe('parseTargets', () => {
  it('expands all and keeps a stable order', () => {
    assert.deepEqual(parseTargets('exporter,ingest'), ['ingest', 'exporter']);
    assert.deepEqual(parseTargets(' ALL '), ['ingest', 'decoder', 'exporter']);
  });
  it('rejects unknown and empty specs', () => {
    assert.throws(() => parseTargets('ingest,foo'), /unknown target\(s\) foo/);
    assert.throws(() => parseTargets(' , '), /no target/);
  });
});
