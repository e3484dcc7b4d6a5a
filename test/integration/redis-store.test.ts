import { RedisStore } from '../../libs/cache/index.js';
import { sharedStoreContract } from '../../libs/cache/store.contract.js';
import { testServices } from '../support/services.js';

// The same contract the in-memory store passes, on the real Redis.
sharedStoreContract('redis (real server)', async () => {
  const s = new RedisStore({
    url: testServices().redisUrl,
    commandTimeoutMs: 5_000,
    log: () => {},
  });
  await s.connect();
  return s;
});
