// `npm run replay -- [--topic profiles.raw.v1.dlq] [--reason R] [--tenant T] [--limit N] [--dry-run]`
// Re-publishes dead letters to their source topic after a fix (see libs/queue/kafka/dlq-replay.ts).
// Needs EMBER_KAFKA_BROKERS: the embedded default keeps its DLQ in memory, inside the process.
import { parseArgs } from 'node:util';
import { TOPICS, replayDeadLetters } from '../../libs/queue/index.js';

const USAGE = `usage: npm run replay -- [--topic ${TOPICS.rawDlq}|${TOPICS.normalizedDlq}] [--reason R] [--tenant T] [--limit N] [--dry-run]`;

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        topic: { type: 'string', default: TOPICS.rawDlq },
        reason: { type: 'string' },
        tenant: { type: 'string' },
        limit: { type: 'string', default: '0' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const brokers = (process.env.EMBER_KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const problems: string[] = [];
  if (brokers.length === 0)
    problems.push('EMBER_KAFKA_BROKERS is not set (replay reads the dead letters from Kafka)');
  if (args.topic !== TOPICS.rawDlq && args.topic !== TOPICS.normalizedDlq) {
    problems.push(`--topic must be ${TOPICS.rawDlq} or ${TOPICS.normalizedDlq}`);
  }
  const limit = Number(args.limit);
  if (!Number.isInteger(limit) || limit < 0) problems.push('--limit must be a whole number');
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n${USAGE}\n`);
    process.exit(2);
  }
  const r = await replayDeadLetters({
    brokers,
    namespace: process.env.EMBER_NAMESPACE ?? '',
    dlqTopic: args.topic!,
    reason: args.reason,
    tenant: args.tenant,
    limit,
    dryRun: args['dry-run']!,
    log: (l) => process.stdout.write(`${l}\n`),
  });
  const verb = args['dry-run'] ? 'would replay' : 'replayed';
  process.stdout.write(
    `scanned ${r.scanned} dead letters in ${args.topic}; ${verb} ${r.replayed}${
      Object.keys(r.byReason).length
        ? ` (${Object.entries(r.byReason)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')})`
        : ''
    }\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`replay failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
