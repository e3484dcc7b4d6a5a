// The synchronous structural check of a JFR recording at ingest (ADR 0013): every chunk header
// in the chain (magic, version 2.x, a size that stays inside the recording, checkpoint and
// metadata offsets inside their chunk), and the chain ending exactly at the end of the input.
// Reads 68 bytes per chunk: constant in the recording's size. What only a full parse finds
// (bad events, constant pools) still goes to the dead-letter queue from the decoder.
import { readChunkHeader } from '../jfr/chunk-header.js';
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
