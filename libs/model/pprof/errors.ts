/**
 * Why a pprof payload was refused. The decoders library maps each kind to its own `DecodeError`
 * (and so to a discard reason); all are permanent: retrying the same bytes fails the same way.
 *
 * - `truncated`: the input ends inside a field (a varint, a length-delimited value, a fixed
 *   width value).
 * - `malformed`: the bytes are not a valid profile.proto message: a length that overruns its
 *   enclosing message, a varint longer than 10 bytes or wider than 64 bits, field number 0,
 *   group or reserved wire types, a known field sent with the wrong wire type, a string-table
 *   index outside the safe-integer range.
 * - `limit`: the profile is valid protobuf but exceeds a limit passed to the decoder, or holds
 *   an id above 2^53-1 that the model's `number` ids cannot represent exactly.
 * - `invalid-utf8`: a string-table entry is not valid UTF-8 (Pyroscope rejects these too).
 */
export type PprofDecodeErrorKind = 'truncated' | 'malformed' | 'limit' | 'invalid-utf8';

export class PprofDecodeError extends Error {
  override readonly name = 'PprofDecodeError';

  constructor(
    readonly kind: PprofDecodeErrorKind,
    message: string,
    /** byte offset in the input where decoding stopped */
    readonly offset: number,
    /** for kind `limit`: which limit was exceeded */
    readonly limit?: string,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}
