// Format → Decoder, and the one entry point the pipeline calls.

import type { UploadFormat } from '../protocol/index.js';
import { DecodeError, isDecodeError } from './decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits, Decoder } from './decoder.js';
import { defaultLimits } from './decoder.js';
import { foldedDecoder } from './folded/folded.decoder.js';
import { treeDecoder } from './tree/tree.decoder.js';
import { trieDecoder } from './trie/trie.decoder.js';
import { speedscopeDecoder } from './speedscope/speedscope.decoder.js';
import { pprofDecoder } from './pprof/pprof.decoder.js';
import { pushDecoder } from './push/push.decoder.js';
import { jfrDecoder } from './jfr-decoder.js';
import { otlpProfilesDecoder } from './otlp/otlp-profiles.decoder.js';

export class DecoderRegistry {
  private readonly byFormat = new Map<UploadFormat, Decoder>();

  constructor(decoders: readonly Decoder[] = []) {
    for (const d of decoders) this.register(d);
  }

  /** Registers `d` for each of its formats, replacing an earlier decoder of the same format. */
  register(d: Decoder): this {
    for (const f of d.formats) this.byFormat.set(f, d);
    return this;
  }

  get(format: UploadFormat): Decoder | undefined {
    return this.byFormat.get(format);
  }

  formats(): UploadFormat[] {
    return [...this.byFormat.keys()];
  }

  /**
   * Decodes one upload. Contract: returns the series (possibly none: an empty or silently
   * dropped upload) or throws DecodeError; any other exception from a decoder is a bug and is
   * reported as a permanent `malformed` DecodeError with the original as `cause`.
   */
  decode(input: DecodeInput, limits: DecodeLimits = defaultLimits): DecodedSeries[] {
    const d = this.byFormat.get(input.format);
    if (d === undefined) {
      throw new DecodeError('unsupported_format', `no decoder for format ${input.format}`);
    }
    try {
      return d.decode(input, limits);
    } catch (e) {
      if (isDecodeError(e)) throw e;
      throw new DecodeError('malformed', `decoder ${input.format} failed: ${String(e)}`, {
        cause: e,
      });
    }
  }

  /**
   * Decodes one upload and hands each series to `emit` as it is decoded (Decoder.decodeEach), in
   * the order `decode` returns them, with its position in that order. Same contract for the
   * decoder's failures; an exception thrown by `emit` itself is passed through as it is, never
   * taken for a decoder bug.
   */
  decodeEach(
    input: DecodeInput,
    limits: DecodeLimits,
    emit: (series: DecodedSeries, index: number) => void,
  ): void {
    const d = this.byFormat.get(input.format);
    if (d === undefined) {
      throw new DecodeError('unsupported_format', `no decoder for format ${input.format}`);
    }
    let index = 0;
    let emitFailure: { err: unknown } | undefined;
    const guarded = (s: DecodedSeries): void => {
      try {
        emit(s, index++);
      } catch (err) {
        emitFailure = { err };
        throw err;
      }
    };
    try {
      if (d.decodeEach) d.decodeEach(input, limits, guarded);
      else for (const s of d.decode(input, limits)) guarded(s);
    } catch (e) {
      if (emitFailure) throw emitFailure.err;
      if (isDecodeError(e)) throw e;
      throw new DecodeError('malformed', `decoder ${input.format} failed: ${String(e)}`, {
        cause: e,
      });
    }
  }
}

/** Every decoder of this library, one per upload format. */
export function createDefaultRegistry(): DecoderRegistry {
  return new DecoderRegistry([
    foldedDecoder,
    treeDecoder,
    trieDecoder,
    speedscopeDecoder,
    pprofDecoder,
    pushDecoder,
    jfrDecoder,
    otlpProfilesDecoder,
  ]);
}

const shared = createDefaultRegistry();

/** Decodes one upload with the default registry. See `DecoderRegistry.decode`. */
export function decodeUpload(
  input: DecodeInput,
  limits: DecodeLimits = defaultLimits,
): DecodedSeries[] {
  return shared.decode(input, limits);
}

/** Decodes one upload series by series with the default registry. See `DecoderRegistry.decodeEach`. */
export function decodeUploadEach(
  input: DecodeInput,
  limits: DecodeLimits,
  emit: (series: DecodedSeries, index: number) => void,
): void {
  shared.decodeEach(input, limits, emit);
}
