// `npm run replay -- [--topic profiles.raw.v1.dlq] [--reason R] [--tenant T] [--limit N] [--dry-run]`
// Re-publishes dead letters to their source topic after a fix.
// - With EMBER_KAFKA_BROKERS: reads the Kafka DLQ topic (libs/queue/kafka/dlq-replay.ts).
// - Without (embedded defaults): reads the dead-letter store in EMBER_DATA_DIR
//   (deadletters.sqlite) and marks the matching letters; the running Emberflow on that data dir
//   puts them back into its queue within seconds (or at its next start).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteDeadLetterStore, TOPICS, replayDeadLetters } from '../../libs/queue/index.js';

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
  if (args.topic !== TOPICS.rawDlq && args.topic !== TOPICS.normalizedDlq) {
    problems.push(`--topic must be ${TOPICS.rawDlq} or ${TOPICS.normalizedDlq}`);
  }
  const limit = Number(args.limit);
  if (!Number.isInteger(limit) || limit < 0) problems.push('--limit must be a whole number');
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n${USAGE}\n`);
    process.exit(2);
  }
  const verb = args['dry-run'] ? 'would replay' : 'replayed';
  if (brokers.length === 0) {
    replayEmbedded(args.topic!, args.reason, args.tenant, limit, args['dry-run']!);
    return;
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
  process.stdout.write(
    `scanned ${r.scanned} dead letters in ${args.topic}; ${verb} ${r.replayed}${reasons(r.byReason)}\n`,
  );
}

/** Embedded defaults: mark letters in the data dir's dead-letter store for the running process. */
function replayEmbedded(
  topic: string,
  reason: string | undefined,
  tenant: string | undefined,
  limit: number,
  dryRun: boolean,
): void {
  const dataDir = resolve(process.env.EMBER_DATA_DIR?.trim() || './data');
  const path = join(dataDir, 'deadletters.sqlite');
  if (!existsSync(path)) {
    process.stderr.write(
      `no dead-letter store at ${path}: set EMBER_KAFKA_BROKERS to replay from Kafka, or EMBER_DATA_DIR to the data dir of the Emberflow whose dead letters these are\n`,
    );
    process.exit(2);
  }
  const store = new SqliteDeadLetterStore({ path, maxBytes: Number.MAX_SAFE_INTEGER });
  try {
    const r = store.markForReplay({ topic, reason, tenant }, limit, dryRun);
    process.stdout.write(
      `scanned ${r.scanned} dead letters in ${path}; ${dryRun ? 'would replay' : 'marked for replay'} ${r.matched} of ${topic}${reasons(r.byReason)}\n`,
    );
    if (!dryRun && r.matched > 0)
      process.stdout.write(
        'the running Emberflow on this data dir republishes them within seconds (or at its next start)\n',
      );
  } finally {
    store.close();
  }
}

function reasons(byReason: Record<string, number>): string {
  const e = Object.entries(byReason);
  return e.length ? ` (${e.map(([k, v]) => `${k}: ${v}`).join(', ')})` : '';
}

main().catch((err) => {
  process.stderr.write(`replay failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
