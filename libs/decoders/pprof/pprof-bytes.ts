// Reading a pprof payload the way Pyroscope's `RawFromBytesWithLimit` does (`pkg/pprof/pprof.go`):
// gunzip when the bytes carry a gzip header, else take them raw; cap the (decompressed) size;
// decode. Shared by the raw pprof body, the pprof form and Push samples.

import { gunzipSync } from 'node:zlib';

import { PprofDecodeError, decodePprofFlat, flatToProfile } from '../../model/index.js';
import type { FlatProfile, Profile } from '../../model/index.js';
import { gzipOutputChunkSize, handedInflate, type HandedInflate } from '../../protocol/index.js';
import { DecodeError } from '../decode-error.js';

/**
 * Go's gzip.NewReader first reads a 10-byte header: fewer bytes is an error even for a raw
 * pprof; a header whose magic/method is not `1f 8b 08` means "not gzip" and the bytes are used
 * as they are.
 */
export function inflatePprof(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.length < 10) {
    throw new DecodeError('truncated', `gzip reset: unexpected EOF (${bytes.length} bytes)`);
  }
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 0x08) {
    if (maxBytes > 0 && bytes.length > maxBytes) throw tooLarge(maxBytes);
    return bytes;
  }
  try {
    const chunkSize = gzipOutputChunkSize(bytes, maxBytes);
    return fitted(
      maxBytes > 0
        ? gunzipSync(bytes, { maxOutputLength: maxBytes, chunkSize })
        : gunzipSync(bytes, { chunkSize }),
    );
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    const msg = e instanceof Error ? e.message : String(e);
    if (/unexpected end/.test(msg)) throw new DecodeError('truncated', `gzip: unexpected EOF`);
    throw new DecodeError('malformed', `gzip: ${msg}`);
  }
}

/**
 * `inflatePprof`, unless the same bytes were inflated already in this process (`handed`, from
 * ingest's scan: see DecodeInput.inflated): then those, after the same size cap.
 */
export function inflatePprofOnce(
  bytes: Uint8Array,
  maxBytes: number,
  handed: HandedInflate | null | undefined,
): Uint8Array {
  return handedInflate(handed, bytes, maxBytes) ?? inflatePprof(bytes, maxBytes);
}

/**
 * The inflated bytes in a buffer of their own size when zlib's chunk left most of it unused: a
 * 700-byte profile comes back as a view of a 16 KiB chunk, and the 10,000 samples of one Push
 * held (ingest's handover, the decoder's inflated request) 160 MB for 7 MB of profiles. The copy
 * costs a few microseconds, only for profiles under the chunk.
 */
function fitted(out: Uint8Array): Uint8Array {
  if (out.buffer.byteLength - out.byteLength <= 4096) return out;
  const own = new Uint8Array(out.byteLength);
  own.set(out);
  return own;
}

function tooLarge(maxBytes: number): DecodeError {
  return new DecodeError(
    'too_large',
    `decompressed size exceeds maximum allowed size of ${maxBytes} bytes`,
  );
}

/** Inflates (when gzipped, size capped) and decodes a pprof payload. */
export function decodePprofBytes(
  bytes: Uint8Array,
  limits: { maxDecompressedBytes: number; maxSamples: number },
): Profile {
  return flatToProfile(decodePprofBytesFlat(bytes, limits));
}

/** `decodePprofBytes` into the flat model (what the decoders use). */
export function decodePprofBytesFlat(
  bytes: Uint8Array,
  limits: { maxDecompressedBytes: number; maxSamples: number },
  handed?: HandedInflate | null,
): FlatProfile {
  return decodeInflated(inflatePprofOnce(bytes, limits.maxDecompressedBytes, handed), limits);
}

/** Decodes an uncompressed pprof, mapping the codec's errors onto DecodeError kinds. */
export function decodeInflated(raw: Uint8Array, limits: { maxSamples: number }): FlatProfile {
  try {
    return decodePprofFlat(raw, limits.maxSamples > 0 ? { maxSamples: limits.maxSamples } : {});
  } catch (e) {
    if (e instanceof PprofDecodeError) {
      switch (e.kind) {
        case 'truncated':
          throw new DecodeError('truncated', e.message, { cause: e });
        case 'invalid-utf8':
          throw new DecodeError('invalid_utf8', e.message, { cause: e });
        case 'limit':
          if (e.limit === 'maxSamples') {
            throw new DecodeError(
              'too_many_samples',
              `the profile exceeds the samples count limit (max_profile_stacktrace_samples, limit: ${limits.maxSamples})`,
              { cause: e },
            );
          }
          throw new DecodeError('malformed', e.message, { cause: e });
        default:
          throw new DecodeError('malformed', e.message, { cause: e });
      }
    }
    throw e;
  }
}
