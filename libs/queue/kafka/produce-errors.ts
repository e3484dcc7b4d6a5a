// Which of Kafka's answers to a produce request can never succeed on retry. The broker refuses
// a record for what it is (too large, invalid, corrupt, a timestamp out of range): sending the
// same record again fails the same way, so the input that made it is dead-lettered. Everything
// else (leader moves, timeouts, the broker down, even authorisation, which an operator fixes
// without touching the data) is retried. kafkajs wraps the broker's error in retry errors, so
// the chain of causes is searched.

const PERMANENT_TYPES: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  // kafkajs retries it (a CRC mismatch can be line noise); once its retries are spent, the
  // record itself is what the broker cannot read
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
]);

const TOO_LARGE: ReadonlySet<string> = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

export interface ProduceErrorClass {
  permanent: boolean;
  /** Kafka's error type, when the broker answered one */
  type: string | undefined;
  /** discard reason: the type in lower case (message_too_large, invalid_record, ...) */
  reason: string;
  tooLarge: boolean;
}

export function classifyProduceError(err: unknown): ProduceErrorClass {
  const seen = new Set<unknown>();
  let type: string | undefined;
  for (let e: unknown = err; e && typeof e === 'object' && !seen.has(e);) {
    seen.add(e);
    const t = (e as { type?: unknown }).type;
    if (typeof t === 'string') {
      type = t;
      if (PERMANENT_TYPES.has(t)) break;
    }
    const next =
      (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
    e = next;
  }
  const permanent = type !== undefined && PERMANENT_TYPES.has(type);
  return {
    permanent,
    type,
    reason: permanent ? type!.toLowerCase() : 'queue_unavailable',
    tooLarge: type !== undefined && TOO_LARGE.has(type),
  };
}
