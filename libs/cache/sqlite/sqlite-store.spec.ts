import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sharedStoreContract } from '../store.contract.js';
import { SqliteStore } from './sqlite-store.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'ember-state-'));

sharedStoreContract(
  'sqlite (embedded default)',
  async () => new SqliteStore({ path: join(dir(), 'state.sqlite') }),
);

describe('SqliteStore across a restart', () => {
  it('keeps dedupe claims, delivered marks and hashes; rate buckets start full again', async () => {
    const path = join(dir(), 'state.sqlite');
    const first = new SqliteStore({ path });
    assert.deepEqual(await first.claim(['upload:a'], 60_000), [true]);
    await first.mark(['delivered:x'], 60_000);
    await first.hashSet('fleet', { 'svc\u001fhost\u001fupload': '{"at":1}' }, 60_000);
    assert.equal((await first.takeTokens('rate', 1, 10, 10)).allowed, true);
    await first.close();

    const second = new SqliteStore({ path });
    assert.deepEqual(await second.claim(['upload:a', 'upload:b'], 60_000), [false, true]);
    assert.deepEqual(await second.exists(['delivered:x', 'delivered:y']), [true, false]);
    assert.deepEqual(await second.hashGetAll('fleet'), { 'svc\u001fhost\u001fupload': '{"at":1}' });
    assert.equal((await second.takeTokens('rate', 1, 10, 10)).allowed, true);
    await second.close();
  });

  it('stays within maxKeys by dropping the soonest-expiring keys at the sweep', async () => {
    const s = new SqliteStore({
      path: join(dir(), 'state.sqlite'),
      maxKeys: 3,
      sweepIntervalMs: 20,
    });
    await s.mark(['a'], 10_000);
    await s.mark(['b', 'c', 'd'], 60_000);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(await s.exists(['a', 'b', 'c', 'd']), [false, true, true, true]);
    await s.close();
  });
});
