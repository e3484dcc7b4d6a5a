// `format=trie` (or Content-Type binary/octet-stream+trie): a prefix-compressed radix trie of
// folded stack keys, nodes `uvarint nameLen | name | uvarint value | uvarint descCount` in
// pre-order; a node's full key is the concatenation of the names from the root. Pyroscope:
// `pkg/og/structs/transporttrie/serialize.go` IterateRaw; pyroscope-protocol.md §5.3.
//
// IterateRaw is reproduced step by step, quirks included: the end of input before a node is a
// clean end (even with nodes still announced); a name shorter than announced takes what is
// left; a node with an empty name reuses the previous name's length when the key is cut back
// (a variable Go never resets); the root's own counter is never decremented. Where Go would
// panic (cutting below zero) this reports `malformed`.

import { ByteReader, EndOfInput, byteString } from '../byte-reader.js';
import { DecodeError } from '../decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits, Decoder } from '../decoder.js';
import type { StackTree } from '../legacy.js';
import { decodeLegacyUpload } from '../legacy.js';

const INT64_LIMIT = 1n << 63n;

function readUvarint(r: ByteReader): bigint {
  try {
    return r.uvarint();
  } catch (e) {
    if (e instanceof EndOfInput) throw new DecodeError('truncated', 'unexpected EOF in trie node');
    throw e;
  }
}

/**
 * Calls `cb(key, value)` for every node with a value, as IterateRaw does. `maxKeyBytes` bounds
 * the total length of the keys handed out (a deep trie makes that quadratic in the input).
 */
export function iterateTrie(
  body: Uint8Array,
  cb: (key: string, value: bigint) => void,
  maxKeyBytes: number,
): void {
  const r = new ByteReader(body);
  let key = '';
  let copied = 0;
  const offsets: { descCount: number; suffixLen: number }[] = [];
  let emitted = 0;
  const cut = (n: number): void => {
    if (n > key.length) throw new DecodeError('malformed', 'trie key cut below zero');
    key = key.slice(0, key.length - n);
  };
  for (;;) {
    let nameLen: bigint;
    try {
      nameLen = r.uvarint();
    } catch (e) {
      if (e instanceof EndOfInput) return;
      throw e;
    }
    if (nameLen !== 0n) {
      // int64(nameLen) < 0 makes Go's LimitReader read nothing.
      copied =
        nameLen >= INT64_LIMIT
          ? 0
          : r.upTo(Number(nameLen > BigInt(r.remaining) ? BigInt(r.remaining) : nameLen)).length;
      if (copied > 0) key += byteString(r.bytes.subarray(r.pos - copied, r.pos));
    }
    const value = readUvarint(r);
    const descCount = readUvarint(r);
    if (value > 0n) {
      emitted += key.length;
      if (maxKeyBytes > 0 && emitted > maxKeyBytes) {
        throw new DecodeError('too_large', `trie keys exceed ${maxKeyBytes} bytes`);
      }
      cb(key, value);
    }
    if (descCount !== 0n) {
      offsets.push({ descCount: Number(BigInt.asIntN(64, descCount)), suffixLen: copied });
      continue;
    }
    cut(copied);
    let i = offsets.length - 1;
    if (i < 0) continue;
    offsets[i].descCount--;
    for (; i > 0; i--) {
      if (offsets[i].descCount !== 0) break;
      cut(offsets[i].suffixLen);
      offsets.length = i;
      const p = offsets.length - 1;
      if (p > 0) offsets[p].descCount--;
    }
  }
}

export function parseTrie(body: Uint8Array, out: StackTree, limits: DecodeLimits): void {
  // Keys are re-split on ';' by the tree, as Pyroscope inserts them.
  const budget = limits.maxDecompressedBytes > 0 ? limits.maxDecompressedBytes * 16 : 0;
  iterateTrie(body, (key, value) => out.insertKey(key, value), budget);
}

export const trieDecoder: Decoder = {
  formats: ['trie'],
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[] {
    return decodeLegacyUpload(input, limits, (tree) => parseTrie(input.body, tree, limits));
  },
};
