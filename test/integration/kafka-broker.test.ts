import { KafkaBroker } from '../../libs/queue/index.js';
import { queueBrokerContract } from '../../libs/queue/queue.contract.js';
import { testServices } from '../support/services.js';

// The same contract the in-process queue passes, on the real Kafka broker.
queueBrokerContract('kafka (real broker)', {
  create: () =>
    new KafkaBroker({
      brokers: testServices().kafkaBrokers.split(','),
      clientId: 'emberflow-contract-test',
      requestTimeoutMs: 30_000,
      maxBytesPerPartition: 8 * 1024 * 1024,
      sessionTimeoutMs: 10_000,
      log: (level, message) => {
        if (level === 'error') console.error(`kafka: ${message}`);
      },
    }),
  deliveryTimeoutMs: 30_000,
});
