import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sharedStoreContract } from '../store.contract.js';
import { MemoryStore } from './memory-store.js';

sharedStoreContract('in-memory', async () => new MemoryStore());

it('stays within maxKeys by dropping the oldest keys', async () => {
  const s = new MemoryStore(3);
  await s.mark(['a', 'b', 'c', 'd'], 60_000);
  assert.deepEqual(await s.exists(['a', 'b', 'c', 'd']), [false, true, true, true]);
});
