import type { Readable } from 'node:stream';

// Reads a request body into one Buffer under the limits of the HTTP edge: at most `maxBytes`
// (413), arriving at `minBytesPerSecond` on average once `graceMs` have passed (408: a body
// trickling in one byte every few seconds holds its connection and its budget no longer than
// that), and within the admission ticket's reservation, which a chunked body grows as it
// arrives (503 when the budget cannot take more). A body with a Content-Length is copied
// straight into a buffer of that size: one copy, no concatenation.
//
// Contract: resolves with the body or rejects with a BodyReadError carrying the HTTP status to
// answer; it stops reading (and removes its listeners) either way. The stream is left paused
// on error: the caller answers and closes the connection.

export interface BodyLimits {
  maxBytes: number;
  /** average bytes per second a body must keep up after graceMs; 0 = no rate check */
  minBytesPerSecond: number;
  graceMs: number;
}

export interface BodyReservation {
  /** reserve more bytes for a body larger than announced; false when the budget is full */
  grow(more: number): boolean;
  readonly bytes: number;
}

export class BodyReadError extends Error {
  override readonly name = 'BodyReadError';
  constructor(
    readonly status: 400 | 408 | 413 | 503,
    message: string,
    readonly reason:
      'body_size_limit' | 'slow_body' | 'client_aborted' | 'budget_exhausted' | 'bad_length',
  ) {
    super(message);
  }
}

/** Chunked bodies grow their reservation in steps of at least this much. */
const GROW_STEP = 256 * 1024;

export function readBody(
  stream: Readable,
  declaredLength: number | undefined,
  limits: BodyLimits,
  reservation?: BodyReservation,
  now: () => number = Date.now,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const started = now();
    let received = 0;
    const fixed = declaredLength !== undefined ? Buffer.allocUnsafe(declaredLength) : undefined;
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let done = false;

    const finish = (err: BodyReadError | null, body?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('aborted', onAborted);
      stream.off('close', onClose);
      if (err) {
        stream.pause();
        reject(err);
      } else resolve(body!);
    };

    // The body is too slow once, past the grace period, fewer than minRate * elapsed bytes
    // have arrived. One timer, re-armed per chunk at the moment the bytes so far stop sufficing.
    const failAt = (): number =>
      started + limits.graceMs + (received / limits.minBytesPerSecond) * 1000;
    // The timer runs before the event loop reads sockets: when the process itself was busy, the
    // bytes may be waiting unread. The verdict is taken after that read (setImmediate), so a
    // client is never timed out for the server's own stall.
    const verify = (): void => {
      if (done) return;
      if (now() < failAt()) {
        arm();
        return;
      }
      const s = ((now() - started) / 1000).toFixed(1);
      finish(
        new BodyReadError(
          408,
          `request body too slow: ${received} bytes${declaredLength !== undefined ? ` of ${declaredLength}` : ''} in ${s}s, below the minimum of ${limits.minBytesPerSecond} bytes/s (EMBER_HTTP_BODY_MIN_RATE)`,
          'slow_body',
        ),
      );
    };
    const arm = (): void => {
      if (limits.minBytesPerSecond <= 0) return;
      clearTimeout(timer);
      timer = setTimeout(() => setImmediate(verify), Math.max(0, failAt() - now()));
    };

    const onData = (chunk: Buffer): void => {
      const next = received + chunk.length;
      if (next > limits.maxBytes) {
        finish(
          new BodyReadError(
            413,
            `request body too large: the limit is ${limits.maxBytes} bytes (EMBER_MAX_BODY_BYTES)`,
            'body_size_limit',
          ),
        );
        return;
      }
      if (fixed) {
        if (next > fixed.length) {
          finish(
            new BodyReadError(
              400,
              `request body longer than its Content-Length of ${fixed.length}`,
              'bad_length',
            ),
          );
          return;
        }
        chunk.copy(fixed, received);
      } else {
        if (reservation && next > reservation.bytes) {
          // a step ahead, so a chunked body does not ask per chunk; or just what it needs
          const step =
            Math.min(limits.maxBytes, Math.max(next, reservation.bytes + GROW_STEP)) -
            reservation.bytes;
          if (!reservation.grow(step) && !reservation.grow(next - reservation.bytes)) {
            finish(
              new BodyReadError(
                503,
                'the ingest budget is in use (EMBER_INGEST_INFLIGHT_BYTES): a chunked body outgrew the room it was admitted with; retry later',
                'budget_exhausted',
              ),
            );
            return;
          }
        }
        chunks.push(chunk);
      }
      received = next;
      arm();
    };
    const onEnd = (): void => {
      if (fixed) {
        if (received !== fixed.length) {
          finish(
            new BodyReadError(
              400,
              `request body ended after ${received} of ${fixed.length} bytes`,
              'client_aborted',
            ),
          );
          return;
        }
        finish(null, fixed);
      } else finish(null, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    };
    const onAborted = (): void =>
      finish(
        new BodyReadError(
          400,
          'the client closed the connection before the body was complete',
          'client_aborted',
        ),
      );
    const onError = (): void => onAborted();
    const onClose = (): void => {
      if (!stream.readableEnded) onAborted();
    };

    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('aborted', onAborted);
    stream.on('close', onClose);
    arm();
    stream.resume();
  });
}
