// The synchronous structural check of a JFR recording at ingest (ADR 0013): every chunk header
// in the chain (magic, version 2.x, a size that stays inside the recording, checkpoint and
// metadata offsets inside their chunk), and the chain ending exactly at the end of the input.
// Reads 68 bytes per chunk: constant in the recording's size. What only a full parse finds
// (bad events, constant pools) still goes to the dead-letter queue from the decoder.
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { CHUNK_HEADER_SIZE, readChunkHeader } from '../jfr/chunk-header.js';
import { JfrError } from '../jfr/errors.js';
import { UploadStructureError } from './pprof-structure.js';

/** Throws UploadStructureError (with the decoder's message) when a chunk header is unusable. */
export function scanJfrStructure(buf: Uint8Array): { chunks: number } {
  try {
    return scanChunks(buf);
  } catch (err) {
    if (!(err instanceof JfrError)) throw err;
    const kind = err.kind === 'truncated' || err.kind === 'unsupported' ? err.kind : 'malformed';
    throw new UploadStructureError(kind, `jfr: ${err.message}`);
  }
}

function scanChunks(buf: Uint8Array): { chunks: number } {
  let pos = 0;
  let chunks = 0;
  while (pos < buf.length) {
    const h = readChunkHeader(buf, pos);
    pos += h.size;
    chunks++;
  }
  if (chunks === 0) readChunkHeader(buf, 0); // an empty recording: "truncated chunk header"
  return { chunks };
}

/** compressed bytes inflated for the header: a dynamic Huffman table fits, and 68 bytes out */
const PREFIX_BYTES = 512;
/** the most a prefix may inflate to (deflate expands at most ~1032:1): bounds the memory */
const PREFIX_MAX_OUTPUT = 1 << 20;

/**
 * The scan of a gzipped single-chunk recording without inflating it (ADR 0013, Cost): the
 * first chunk header is read from an inflated prefix (`Z_SYNC_FLUSH`: a cut stream yields what
 * it decoded so far instead of failing), and the chain is checked against the recording's
 * length from the gzip trailer (ISIZE): one chunk whose size is that length is the whole
 * recording. Returns true when that proved the chain good. Returns false, having decided
 * nothing, for anything else (not gzip, a length over `maxBytes` or 2^31, several chunks, a
 * header the prefix shows broken, a prefix that does not inflate): the caller then inflates the
 * whole part and runs `scanJfrStructure`, so every refusal keeps the message it had.
 *
 * What this leaves unchecked, for the decoder and its dead-letter queue as before: deflate data
 * or the CRC-32 past the prefix, and a stream of several gzip members (ISIZE is the last one's).
 */
export function scanGzipJfrPrefix(gz: Uint8Array, maxBytes: number): boolean {
  // a gzip member is at least a 10-byte header and an 8-byte trailer (Go's reader: 1f 8b 08)
  if (gz.length < 18 || gz[0] !== 0x1f || gz[1] !== 0x8b || gz[2] !== 0x08) return false;
  const n = gz.length;
  const isize = (gz[n - 4] | (gz[n - 3] << 8) | (gz[n - 2] << 16) | (gz[n - 1] << 24)) >>> 0;
  if (isize < CHUNK_HEADER_SIZE || isize >= 0x80000000 || (maxBytes > 0 && isize > maxBytes))
    return false;
  // a prefix shorter than the part: the whole part would be the full inflate (the caller's)
  if (n <= PREFIX_BYTES) return false;
  let head: Uint8Array;
  try {
    head = gunzipSync(gz.subarray(0, PREFIX_BYTES), {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      maxOutputLength: PREFIX_MAX_OUTPUT,
    });
  } catch {
    return false;
  }
  if (head.length < CHUNK_HEADER_SIZE) return false;
  let size: number;
  try {
    size = readChunkHeader(head, 0, isize).size;
  } catch (err) {
    if (err instanceof JfrError) return false;
    throw err;
  }
  return size === isize;
}
