/**
 * Why a recording was refused. Every failure of the JFR decoder is one of these; the decoders'
 * front (DecodeError) maps them to a discard reason. All of them are permanent: the same bytes fail
 * the same way, so retrying is pointless.
 *
 * - `truncated`: the input ends inside a structure (chunk, event, pool entry, varint).
 * - `malformed`: bytes that cannot be a JFR recording (bad magic, offsets outside the chunk,
 *   references to unknown types, inconsistent sizes, a checkpoint chain that loops).
 * - `limit`: a configured bound was exceeded (see `JfrLimits`); the input may be valid.
 * - `unsupported`: a well-formed construct this parser does not implement (JFR 1.x, arrays of
 *   more than one dimension).
 */
export type JfrErrorKind = 'truncated' | 'malformed' | 'limit' | 'unsupported';

export class JfrError extends Error {
  override readonly name = 'JfrError';
  constructor(
    readonly kind: JfrErrorKind,
    message: string,
    /** absolute byte offset in the recording where the problem was seen, when known */
    readonly offset = -1,
    /** set only when an unexpected internal error was converted (a bug: see decodeJfr) */
    cause?: unknown,
  ) {
    super(
      offset >= 0 ? `${message} (at byte ${offset})` : message,
      cause === undefined ? undefined : { cause },
    );
  }
}

export function truncated(offset: number, what = 'input'): JfrError {
  return new JfrError('truncated', `unexpected end of ${what}`, offset);
}

export function malformed(message: string, offset = -1): JfrError {
  return new JfrError('malformed', message, offset);
}

export function overLimit(message: string, offset = -1): JfrError {
  return new JfrError('limit', message, offset);
}
