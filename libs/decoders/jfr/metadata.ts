import { ByteReader } from './byte-reader.js';
import { JfrError, malformed, overLimit } from './errors.js';
import type { JfrLimits } from './limits.js';

/** How one value of a field is encoded (§4.3, §4.5). */
export const KIND_UNKNOWN = 0;
/** short, char, int, long: LEB128 */
export const KIND_VARINT = 1;
/** byte, boolean: one raw byte */
export const KIND_BYTE = 2;
/** float: 4 raw bytes */
export const KIND_F32 = 3;
/** double: 8 raw bytes */
export const KIND_F64 = 4;
/** java.lang.String */
export const KIND_STRING = 5;
/** an inline instance of another class, its fields in order */
export const KIND_OBJECT = 6;
/** a constant-pool reference: LEB128 id */
export const KIND_CP = 7;

export interface JfrField {
  name: string;
  typeId: number;
  constantPool: boolean;
  array: boolean;
  /** one of the KIND_* constants, resolved once the whole class list is known */
  kind: number;
  /** the field's class (undefined when the metadata does not declare it) */
  type: JfrClass | undefined;
}

export interface JfrClass {
  id: number;
  name: string;
  superType: string;
  fields: JfrField[];
}

/** The classes of one chunk's metadata event. Type ids are per chunk. */
export class TypeTable {
  readonly byId = new Map<number, JfrClass>();
  readonly byName = new Map<string, JfrClass>();

  add(cls: JfrClass): void {
    this.byId.set(cls.id, cls);
    this.byName.set(cls.name, cls);
  }
}

const PRIMITIVE_KIND: ReadonlyMap<string, number> = new Map([
  ['boolean', KIND_BYTE],
  ['byte', KIND_BYTE],
  ['char', KIND_VARINT],
  ['short', KIND_VARINT],
  ['int', KIND_VARINT],
  ['long', KIND_VARINT],
  ['float', KIND_F32],
  ['double', KIND_F64],
  ['java.lang.String', KIND_STRING],
]);

/** Types jfr-parser requires in every chunk (`checkTypes`); their absence is a malformed file. */
const REQUIRED_TYPES = [
  'int',
  'long',
  'short',
  'float',
  'boolean',
  'java.lang.String',
  'jdk.types.FrameType',
  'jdk.types.ThreadState',
  'java.lang.Thread',
  'java.lang.Class',
  'jdk.types.Method',
  'jdk.types.Package',
  'jdk.types.Symbol',
  'jdk.types.StackTrace',
  'jdk.types.ClassLoader',
  'jdk.types.StackFrame',
];

interface Element {
  name: string;
  attrs: Map<string, string>;
  children: Element[];
}

/**
 * Parses the metadata event at `pos` (absolute) of a chunk ending at `chunkEnd`.
 *
 * To save re-parsing the identical metadata that JDK recordings repeat in every chunk, the caller
 * may pass the previous chunk's result in `previous`: when the string table and element tree are
 * byte-identical the previous table is returned as is.
 */
export function readMetadata(
  buf: Uint8Array,
  pos: number,
  chunkEnd: number,
  limits: JfrLimits,
  previous?: MetadataCacheEntry,
): MetadataCacheEntry {
  const r = new ByteReader(buf, pos, chunkEnd, limits.maxStringLength);
  const size = r.readLong();
  if (size <= 0 || pos + size > chunkEnd) throw malformed(`metadata event size ${size}`, pos);
  r.end = pos + size;
  const type = r.readLong();
  if (type !== 0) throw malformed(`metadata event has type ${type}`, pos);
  r.skipVarint(); // start time
  r.skipVarint(); // duration
  r.skipVarint(); // metadata id
  const bodyStart = r.pos;
  if (previous !== undefined && sameBytes(buf, bodyStart, r.end, previous.body)) return previous;

  const nstr = r.readCount('metadata string');
  if (nstr > limits.maxMetadataStrings) throw overLimit(`${nstr} metadata strings`, r.pos);
  const strings = new Array<string>(nstr);
  for (let i = 0; i < nstr; i++) strings[i] = r.readString();

  const budget = { left: limits.maxMetadataElements };
  const root = readElement(r, strings, 0, limits.maxNestingDepth, budget);
  if (root.name !== 'root') throw malformed(`metadata root element is "${root.name}"`, bodyStart);

  const types = new TypeTable();
  for (const section of root.children) {
    if (section.name === 'region') continue;
    if (section.name !== 'metadata') {
      throw malformed(`unexpected metadata element "${section.name}"`, bodyStart);
    }
    for (const el of section.children) {
      if (el.name !== 'class') continue;
      types.add(toClass(el, bodyStart));
    }
  }
  for (const name of REQUIRED_TYPES) {
    if (!types.byName.has(name)) throw malformed(`metadata lacks type "${name}"`, bodyStart);
  }
  resolveKinds(types);
  return { body: buf.slice(bodyStart, r.end), types };
}

export interface MetadataCacheEntry {
  /** a copy of the metadata body (strings + tree), to recognise the next identical one */
  body: Uint8Array;
  types: TypeTable;
}

function sameBytes(buf: Uint8Array, start: number, end: number, body: Uint8Array): boolean {
  if (end - start !== body.length) return false;
  return Buffer.compare(buf.subarray(start, end), body) === 0;
}

function readElement(
  r: ByteReader,
  strings: string[],
  depth: number,
  maxDepth: number,
  budget: { left: number },
): Element {
  if (depth > maxDepth) throw overLimit(`metadata nesting deeper than ${maxDepth}`, r.pos);
  if (--budget.left < 0) throw overLimit('too many metadata elements', r.pos);
  const name = stringAt(strings, r.readLong(), r.pos);
  const nattr = r.readCount('metadata attribute');
  const attrs = new Map<string, string>();
  for (let i = 0; i < nattr; i++) {
    const k = stringAt(strings, r.readLong(), r.pos);
    const v = stringAt(strings, r.readLong(), r.pos);
    attrs.set(k, v);
  }
  const nchild = r.readCount('metadata element');
  const children = new Array<Element>(nchild);
  for (let i = 0; i < nchild; i++)
    children[i] = readElement(r, strings, depth + 1, maxDepth, budget);
  return { name, attrs, children };
}

function stringAt(strings: string[], idx: number, pos: number): string {
  if (idx < 0 || idx >= strings.length) throw malformed(`metadata string index ${idx}`, pos);
  return strings[idx];
}

function parseId(s: string | undefined, what: string, pos: number): number {
  if (s === undefined || !/^\d{1,15}$/.test(s)) throw malformed(`${what} "${s}"`, pos);
  return Number(s);
}

function toClass(el: Element, pos: number): JfrClass {
  const id = parseId(el.attrs.get('id'), 'class id', pos);
  const name = el.attrs.get('name') ?? '';
  if (name === '') throw malformed('class without a name', pos);
  const fields: JfrField[] = [];
  for (const child of el.children) {
    if (child.name !== 'field') continue;
    const fname = child.attrs.get('name') ?? '';
    if (fname === '') throw malformed(`field without a name in ${name}`, pos);
    const dim = child.attrs.get('dimension');
    if (dim !== undefined && dim !== '' && dim !== '1') {
      throw new JfrError('unsupported', `field ${name}.${fname} has dimension ${dim}`, pos);
    }
    fields.push({
      name: fname,
      typeId: parseId(child.attrs.get('class'), `type of ${name}.${fname}`, pos),
      constantPool: child.attrs.get('constantPool') === 'true',
      array: dim === '1',
      kind: KIND_UNKNOWN,
      type: undefined,
    });
  }
  return { id, name, superType: el.attrs.get('superType') ?? '', fields };
}

function resolveKinds(types: TypeTable): void {
  for (const cls of types.byId.values()) {
    for (const f of cls.fields) {
      f.type = types.byId.get(f.typeId);
      if (f.constantPool) f.kind = KIND_CP;
      else if (f.type === undefined) f.kind = KIND_UNKNOWN;
      else f.kind = PRIMITIVE_KIND.get(f.type.name) ?? KIND_OBJECT;
    }
  }
}
