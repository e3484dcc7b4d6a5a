import { ByteReader } from './byte-reader.js';
import { readChunkHeader, type ChunkHeader } from './chunk-header.js';
import { anchorPools, readConstantPools, type ConstantPools } from './constant-pool.js';
import { overLimit } from './errors.js';
import { EventCursor } from './event-reader.js';
import type { JfrLimits } from './limits.js';
import { TypeTable, readMetadata, type MetadataCacheEntry } from './metadata.js';
import { anchorMaps } from './anchors.js';
import { ValueWalker } from './value-walker.js';

/** Everything needed to read the events of one chunk. */
export class JfrChunk {
  constructor(
    readonly index: number,
    readonly header: ChunkHeader,
    readonly types: TypeTable,
    readonly pools: ConstantPools,
    readonly events: EventCursor,
    /** reader for event payloads; resolves encoding-2 strings through this chunk's pool */
    readonly reader: ByteReader,
    readonly walker: ValueWalker,
  ) {}
}

/**
 * A long-lived visitor object. Prefer it to a closure on hot paths: a closure created per decode
 * and inlined into optimised code dies with the decode, and V8 then discards that code.
 */
export interface ChunkVisitor {
  onChunk(chunk: JfrChunk): void;
}

/**
 * Iterates the chunks of a recording (§4.1): for each, the header, the metadata (type table), the
 * constant pools of the checkpoint chain, and an event cursor. Chunks are independent: type ids
 * and pool ids are per chunk. `visit` runs before the next chunk is read, so at most one chunk's
 * pools are alive at a time.
 */
export function forEachChunk(
  input: Uint8Array,
  limits: JfrLimits,
  visit: ((chunk: JfrChunk) => void) | ChunkVisitor,
): void {
  if (input.length >= 2 ** 31) throw overLimit(`recording of ${input.length} bytes`);
  // A plain Uint8Array view (no copy): a Node Buffer's subarray() builds a FastBuffer, several
  // times slower than a typed array's, and one array class keeps element accesses monomorphic.
  const buf = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const walker = new ValueWalker(
    1_000_000 + limits.maxStepsPerByte * buf.length,
    limits.maxNestingDepth,
  );
  let pos = 0;
  let index = 0;
  let meta: MetadataCacheEntry | undefined;
  let pools: ConstantPools | undefined;
  while (pos < buf.length) {
    if (index >= limits.maxChunks) throw overLimit(`more than ${limits.maxChunks} chunks`, pos);
    const header = readChunkHeader(buf, pos);
    const chunkEnd = pos + header.size;
    meta = readMetadata(buf, pos + header.metadataOffset, chunkEnd, limits, meta);
    // The previous chunk's pools are done with (visit returned): reuse their storage.
    pools = readConstantPools(buf, header, meta.types, limits, walker, pools);
    const reader = new ByteReader(buf, 0, chunkEnd, limits.maxStringLength);
    reader.stringRef = pools.reader.stringRef;
    const chunk = new JfrChunk(
      index,
      header,
      meta.types,
      pools,
      new EventCursor(header),
      reader,
      walker,
    );
    if (typeof visit === 'function') visit(chunk);
    else visit.onChunk(chunk);
    pos = chunkEnd;
    index++;
  }
}

anchorMaps(
  new JfrChunk(
    0,
    { start: 0, size: 68 } as ChunkHeader,
    new TypeTable(),
    anchorPools,
    new EventCursor({ start: 0, size: 68 } as ChunkHeader),
    new ByteReader(new Uint8Array(0)),
    new ValueWalker(0, 0),
  ),
);
