import { JfrError, malformed, truncated } from './errors.js';

export const CHUNK_HEADER_SIZE = 68;
const MAGIC = 0x464c5200; // "FLR\0"

/** The fixed 68-byte header that starts every chunk (§4.2). Offsets are relative to `start`. */
export interface ChunkHeader {
  /** absolute offset of the chunk in the recording */
  start: number;
  /** chunk size in bytes, header included */
  size: number;
  major: number;
  minor: number;
  /** offset of the last checkpoint (constant-pool) event */
  checkpointOffset: number;
  metadataOffset: number;
  startNanos: bigint;
  durationNanos: bigint;
  startTicks: bigint;
  ticksPerSecond: bigint;
  features: number;
}

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
}

function u64(buf: Uint8Array, p: number): bigint {
  return (BigInt(u32(buf, p)) << 32n) | BigInt(u32(buf, p + 4));
}

/** u64 that must be a usable offset/size: anything above 2^53 cannot be one. */
function offset(buf: Uint8Array, p: number): number {
  const hi = u32(buf, p);
  if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER;
  return hi * 0x100000000 + u32(buf, p + 4);
}

/**
 * Reads and validates the header of the chunk at `start`. Mirrors jfr-parser's checks (magic,
 * version 2.x, positive offsets) and additionally requires the chunk and both offsets to lie
 * inside the input, so later reads never need to re-check the chunk bounds. `length` is the
 * recording's length when `buf` holds only its beginning (the ingest scan reads the header
 * from an inflated prefix and knows the length from the gzip trailer).
 */
export function readChunkHeader(
  buf: Uint8Array,
  start: number,
  length: number = buf.length,
): ChunkHeader {
  if (start + CHUNK_HEADER_SIZE > buf.length) throw truncated(buf.length, 'chunk header');
  if (u32(buf, start) !== MAGIC) throw malformed('invalid chunk magic', start);
  const major = (buf[start + 4] << 8) | buf[start + 5];
  const minor = (buf[start + 6] << 8) | buf[start + 7];
  if (major !== 2) {
    throw new JfrError('unsupported', `JFR version ${major}.${minor} (only 2.x)`, start + 4);
  }
  const size = offset(buf, start + 8);
  const checkpointOffset = offset(buf, start + 16);
  const metadataOffset = offset(buf, start + 24);
  if (size < CHUNK_HEADER_SIZE) throw malformed(`invalid chunk size ${size}`, start + 8);
  if (start + size > length) throw truncated(length, 'chunk');
  if (checkpointOffset < CHUNK_HEADER_SIZE || checkpointOffset >= size) {
    throw malformed(`checkpoint offset ${checkpointOffset} outside the chunk`, start + 16);
  }
  if (metadataOffset < CHUNK_HEADER_SIZE || metadataOffset >= size) {
    throw malformed(`metadata offset ${metadataOffset} outside the chunk`, start + 24);
  }
  // `| 0`: all four are below 2^31 here (the input is), and must be small integers (Smis). A
  // double-typed offset (`hi * 2^32 + lo` is one) makes every position computed from it a heap
  // number; the fields that store positions then change representation, V8 gives their objects new
  // hidden classes, and the event loop's optimised code is discarded after a multi-chunk file.
  return {
    start: start | 0,
    size: size | 0,
    major,
    minor,
    checkpointOffset: checkpointOffset | 0,
    metadataOffset: metadataOffset | 0,
    startNanos: u64(buf, start + 32),
    durationNanos: u64(buf, start + 40),
    startTicks: u64(buf, start + 48),
    ticksPerSecond: u64(buf, start + 56),
    features: u32(buf, start + 64),
  };
}
