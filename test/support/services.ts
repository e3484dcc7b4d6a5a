// The real Kafka broker and Redis the integration and end-to-end suites run on. The test runner
// (scripts/run-tests.mjs) starts them with scripts/services.sh and passes their addresses; a
// suite run without them fails loudly instead of skipping.

export interface TestServices {
  kafkaBrokers: string;
  redisUrl: string;
}

export function testServices(): TestServices {
  const kafkaBrokers = process.env.EMBER_TEST_KAFKA_BROKERS;
  const redisUrl = process.env.EMBER_TEST_REDIS_URL;
  if (!kafkaBrokers || !redisUrl) {
    throw new Error(
      'EMBER_TEST_KAFKA_BROKERS and EMBER_TEST_REDIS_URL are not set: run integration and e2e suites through `npm test` (or `npm run test:integration` / `npm run test:e2e`), which start the real Kafka broker and Redis',
    );
  }
  return { kafkaBrokers, redisUrl };
}
