import type { ByteReader } from './byte-reader.js';
import { malformed, overLimit } from './errors.js';
import type { JfrClass, JfrField } from './metadata.js';
import {
  KIND_BYTE,
  KIND_CP,
  KIND_F32,
  KIND_F64,
  KIND_OBJECT,
  KIND_STRING,
  KIND_VARINT,
} from './metadata.js';
import { anchorMaps } from './anchors.js';

/**
 * Skips values described by the metadata: the slow, general path for pool entries and event fields
 * the decoder does not read. Bounded two ways against hostile metadata: inline nesting depth, and a
 * step budget (one step per field visit) shared by the whole decode, sized from the input length.
 */
export class ValueWalker {
  constructor(
    private steps: number,
    private readonly maxDepth: number,
  ) {}

  skipClass(r: ByteReader, cls: JfrClass, depth: number): void {
    if (depth > this.maxDepth)
      throw overLimit(`inline values nested deeper than ${this.maxDepth}`, r.pos);
    const fields = cls.fields;
    for (let i = 0; i < fields.length; i++) this.skipField(r, fields[i], depth);
  }

  skipField(r: ByteReader, f: JfrField, depth: number): void {
    const n = f.array ? r.readCount(`array ${f.name}`) : 1;
    this.steps -= n + 1;
    if (this.steps < 0) throw overLimit('value walk step budget exhausted', r.pos);
    switch (f.kind) {
      case KIND_VARINT:
      case KIND_CP:
        for (let i = 0; i < n; i++) r.skipVarint();
        return;
      case KIND_BYTE:
        r.skip(n);
        return;
      case KIND_F32:
        r.skip(4 * n);
        return;
      case KIND_F64:
        r.skip(8 * n);
        return;
      case KIND_STRING:
        for (let i = 0; i < n; i++) r.skipString();
        return;
      case KIND_OBJECT: {
        const t = f.type as JfrClass;
        for (let i = 0; i < n; i++) this.skipClass(r, t, depth + 1);
        return;
      }
      default:
        throw malformed(`field ${f.name} has undeclared type ${f.typeId}`, r.pos);
    }
  }
}

/** True when every field is a scalar varint, cp reference or single byte (fast skip). */
export function isFlat(cls: JfrClass): boolean {
  for (const f of cls.fields) {
    if (f.array) return false;
    if (f.kind !== KIND_VARINT && f.kind !== KIND_CP && f.kind !== KIND_BYTE) return false;
  }
  return true;
}

/** Per field of a flat class: 1 = varint, 0 = one byte. */
export function flatShape(cls: JfrClass): Uint8Array {
  return Uint8Array.from(cls.fields, (f) => (f.kind === KIND_BYTE ? 0 : 1));
}

anchorMaps(new ValueWalker(0, 0));
