// Bounded gunzip for payloads that agents gzip (pprof bodies and parts, JFR and labels parts,
// Push raw_profile). Pyroscope sniffs the magic bytes and never trusts Content-Encoding on /ingest
// (pyroscope-protocol.md §1.4). Inflation stops as soon as the output passes the cap, so a gzip
// bomb costs at most `maxBytes` plus one zlib chunk of memory.
import { constants as bufferConstants } from 'node:buffer';
import { constants, gunzipSync } from 'node:zlib';
import type { ProtocolError } from './errors.js';
import { unprocessable } from './errors.js';

/** True when `bytes` starts with the gzip magic `1f 8b`. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Pyroscope's message when a payload inflates past `max_profile_size_bytes`. */
export function decompressedTooLargeMessage(maxBytes: number): string {
  return `decompressed size exceeds maximum allowed size of ${maxBytes} bytes`;
}

/**
 * Inflates a complete gzip stream (concatenated members are read, as Go's reader does), refusing
 * to produce more than `maxBytes` (0 = no limit, as in Pyroscope). Throws `ProtocolError`:
 * - `profile_too_large` (422, reason `profile_size_limit`) with Pyroscope's message;
 * - `truncated` (`unexpected EOF`) when the stream ends early;
 * - `corrupt` for a bad header, bad deflate data or a checksum mismatch.
 * Returns a new Buffer owned by the caller.
 */
export function inflateBounded(bytes: Uint8Array, maxBytes: number): Buffer {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(
      `inflateBounded: maxBytes must be a non-negative integer, got ${maxBytes}`,
    );
  }
  try {
    // maxOutputLength makes zlib abort mid-stream once the output would exceed it.
    // Above Node's largest Buffer the cap cannot bind anyway (zlib rejects larger values).
    const cap = Math.min(maxBytes, bufferConstants.MAX_LENGTH);
    const chunkSize = gzipOutputChunkSize(bytes, cap);
    return cap > 0
      ? gunzipSync(bytes, { maxOutputLength: cap, chunkSize })
      : gunzipSync(bytes, { chunkSize });
  } catch (e) {
    throw gzipError(e, maxBytes);
  }
}

/**
 * zlib's output chunk for inflating `bytes`, sized from the gzip trailer's length (ISIZE) so
 * that the output is one buffer: with the default 16 KiB chunks a 99 KB profile is seven buffers
 * and a concat, and the inflate costs a third more (ADR 0013, Cost); a 250 KB JFR part inflates
 * in 1.12 ms against 1.37. ISIZE is the sender's word (and the last member's only): it is bounded
 * by what deflate can produce from these bytes (at most 1032:1), by 64 MiB and by the cap
 * (`maxBytes`, 0 = none), so a lying trailer costs one bounded buffer, and a short one only more
 * chunks. Never below zlib's default chunk.
 */
export function gzipOutputChunkSize(bytes: Uint8Array, maxBytes: number): number {
  const n = bytes.length;
  if (n < 4) return 16 * 1024;
  const isize =
    (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
  let size = Math.min(isize + 1, n * 1032 + 64, 64 << 20);
  if (maxBytes > 0) size = Math.min(size, maxBytes + 1);
  return Math.max(size, 16 * 1024);
}

/**
 * gzip bytes an earlier stage of this process already inflated (ingest's structural scan),
 * handed to the decoder beside the message (OutgoingMessage.local) so that it does not inflate
 * the same bytes again. Plain data: it crosses to a decode worker by structured clone. `raw` is
 * shared and read-only for everyone who receives it.
 */
export interface HandedInflate {
  /** the gzip bytes it came from, identified by their length and trailer (CRC-32 and ISIZE) */
  gzipLength: number;
  crc32: number;
  isize: number;
  raw: Uint8Array;
}

/** The handover of `gz` inflated to `raw`; none when nothing was inflated (`raw` is `gz`). */
export function handInflate(gz: Uint8Array, raw: Uint8Array): HandedInflate | undefined {
  if (raw === gz || gz.length < 18) return undefined;
  return { gzipLength: gz.length, crc32: trailerWord(gz, 8), isize: trailerWord(gz, 4), raw };
}

/**
 * The handed inflate of `gz`, when `h` is one of these very bytes (length and trailer match: a
 * handover put beside the wrong part is ignored, not used) and fits `maxBytes` (0 = no limit).
 * Undefined otherwise: the caller inflates, and meets every error it would have met.
 */
export function handedInflate(
  h: HandedInflate | null | undefined,
  gz: Uint8Array,
  maxBytes: number,
): Uint8Array | undefined {
  if (!h || h.gzipLength !== gz.length || gz.length < 18) return undefined;
  if (h.crc32 !== trailerWord(gz, 8) || h.isize !== trailerWord(gz, 4)) return undefined;
  if (maxBytes > 0 && h.raw.length > maxBytes) return undefined;
  return h.raw;
}

/** Memory a handover holds (the whole buffer its bytes are a view of). */
export function handedBytes(h: HandedInflate | null | undefined): number {
  return h ? h.raw.buffer.byteLength : 0;
}

function trailerWord(b: Uint8Array, fromEnd: number): number {
  const i = b.length - fromEnd;
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function gzipError(e: unknown, maxBytes: number): ProtocolError {
  const err = e as { code?: string; errno?: number; message?: string };
  if (err.code === 'ERR_BUFFER_TOO_LARGE') {
    return unprocessable(
      'profile_too_large',
      decompressedTooLargeMessage(maxBytes),
      'profile_size_limit',
      e,
    );
  }
  const msg = err.message ?? String(e);
  if (err.errno === constants.Z_BUF_ERROR || /unexpected end of file/.test(msg)) {
    return unprocessable('truncated', 'unexpected EOF', 'malformed_profile', e);
  }
  if (/incorrect (data|length) check/.test(msg)) {
    return unprocessable('corrupt', 'gzip: invalid checksum', 'malformed_profile', e);
  }
  if (/incorrect header check|unknown compression method/.test(msg)) {
    return unprocessable('corrupt', 'gzip: invalid header', 'malformed_profile', e);
  }
  return unprocessable('corrupt', `flate: corrupt input (${msg})`, 'malformed_profile', e);
}

/**
 * A pprof payload as Pyroscope's `RawFromBytesWithLimit` reads it: gunzipped when it carries a gzip
 * header, otherwise taken as is (the raw bytes are returned, not copied). The cap applies to the
 * decompressed size either way, as in Pyroscope.
 */
export function maybeInflatePprof(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (!isGzip(bytes) || (bytes.length >= 3 && bytes[2] !== 8)) {
    if (maxBytes > 0 && bytes.length > maxBytes) {
      throw unprocessable(
        'profile_too_large',
        decompressedTooLargeMessage(maxBytes),
        'profile_size_limit',
      );
    }
    return bytes;
  }
  return inflateBounded(bytes, maxBytes);
}
