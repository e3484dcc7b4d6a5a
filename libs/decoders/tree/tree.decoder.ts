// `format=tree` (or Content-Type binary/octet-stream+tree): a pre-order serialised call tree,
// each node `uvarint nameLen | name | uvarint self | uvarint childCount | children...`.
// Pyroscope: `pkg/og/storage/tree/serialize.go` DeserializeNoDict, `pkg/og/convert/parser.go`
// ParseTreeNoDict; pyroscope-protocol.md §5.2.
//
// Upstream quirks kept: siblings with the same name are merged and the later `self` overwrites
// the earlier one; the first node becomes the root and its name is cut oddly (stack keys are the
// node labels `;root;a;b` minus their first two bytes); keys are then split on `;` again, so a
// `;` inside a name makes extra frames. Bytes after the tree are ignored; an empty body is an
// error (EOF).

import { ByteReader, EndOfInput, byteString } from '../byte-reader.js';
import { DecodeError } from '../decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits, Decoder } from '../decoder.js';
import { decodeLegacyUpload } from '../legacy.js';
import type { StackNode, StackTree } from '../legacy.js';

interface TNode {
  name: string;
  self: bigint;
  children: Map<string, TNode> | undefined;
}

function readUvarint(r: ByteReader): bigint {
  try {
    return r.uvarint();
  } catch (e) {
    if (e instanceof EndOfInput) throw new DecodeError('truncated', 'unexpected EOF in tree');
    throw e;
  }
}

/** Deserialises the node tree (DeserializeNoDict). Returns the root (the first node). */
function deserialize(body: Uint8Array, limits: DecodeLimits): TNode {
  const r = new ByteReader(body);
  const top: TNode = { name: '', self: 0n, children: undefined };
  // Pending parents: each entry stands for `count` children still to read under `node`.
  const pending: { node: TNode; count: bigint }[] = [{ node: top, count: 1n }];
  const maxName = BigInt(limits.maxSymbolLength);
  const maxChildren = BigInt(limits.maxSamples);
  while (pending.length > 0) {
    const parent = pending[pending.length - 1];
    parent.count--;
    if (parent.count === 0n) pending.pop();
    const nameLen = readUvarint(r);
    if (limits.maxSymbolLength > 0 && nameLen > maxName) {
      throw new DecodeError(
        'malformed',
        `tree node name length ${nameLen} exceeds maximum ${maxName}`,
      );
    }
    if (nameLen > BigInt(r.remaining))
      throw new DecodeError('truncated', 'unexpected EOF in tree node name');
    const name = byteString(r.take(Number(nameLen)));
    if (parent.node.children === undefined) parent.node.children = new Map();
    let node = parent.node.children.get(name);
    if (node === undefined) {
      node = { name, self: 0n, children: undefined };
      parent.node.children.set(name, node);
    }
    node.self = readUvarint(r);
    const childCount = readUvarint(r);
    if (limits.maxSamples > 0 && childCount > maxChildren) {
      throw new DecodeError(
        'malformed',
        `tree node children count ${childCount} exceeds maximum ${maxChildren}`,
      );
    }
    if (childCount > 0n) pending.push({ node, count: childCount });
  }
  return top.children!.values().next().value!;
}

/**
 * Emits the stack keys into `out`: what Pyroscope does by rendering each key and inserting it,
 * done incrementally (each node continues from its parent's position) so the work stays linear
 * in the input size however deep the tree is.
 */
function emit(root: TNode, out: StackTree): void {
  const rootLabel = ';' + root.name;
  let base: StackNode = out.walk(out.root, []);
  if (rootLabel.length > 1) {
    const key = rootLabel.slice(2);
    const frames = key.split(';');
    if (rootLabel.length > 2 && root.self !== 0n) out.insertKey(key, root.self);
    base = out.walk(out.root, frames);
  }
  const work: { node: TNode; at: StackNode }[] = [];
  const pushChildren = (n: TNode, at: StackNode): void => {
    if (n.children) for (const c of n.children.values()) work.push({ node: c, at });
  };
  pushChildren(root, base);
  while (work.length > 0) {
    const { node, at } = work.pop()!;
    const frames = node.name.split(';');
    const here = out.walk(at, frames);
    // Go skips keys of length 0 (the label `;;` of an empty child of an empty root).
    const emptyKey = at === base && root.name === '' && node.name === '';
    if (node.self !== 0n && !emptyKey) {
      // A key ending in ';' loses its last (empty) frame when inserted.
      const target = frames[frames.length - 1] === '' ? out.walk(at, frames.slice(0, -1)) : here;
      out.addAt(target, node.self);
    }
    pushChildren(node, here);
  }
}

export function parseTree(body: Uint8Array, out: StackTree, limits: DecodeLimits): void {
  emit(deserialize(body, limits), out);
}

export const treeDecoder: Decoder = {
  formats: ['tree'],
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[] {
    return decodeLegacyUpload(input, limits, (tree) => parseTree(input.body, tree, limits));
  },
};
