// A minimal JFR writer for the specs and the fuzz tests: builds chunks with any metadata, pools and
// events so edge cases (64-bit ids, every string encoding, several checkpoints, odd field types)
// can be produced on purpose. Not part of the public API.

export class Bytes {
  readonly out: number[] = [];

  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }

  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.out.push(b[i] & 0xff);
    return this;
  }

  /** JFR LEB128: 7 bits a byte, the 9th byte carries 8 bits. Negative numbers as two's complement. */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    for (let i = 0; i < 8; i++) {
      if (v < 0x80n) {
        this.out.push(Number(v));
        return this;
      }
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
    return this;
  }

  /** A 4-byte padded varint, the way the JDK writes event sizes. */
  padded4(v: number): this {
    this.out.push(
      (v & 0x7f) | 0x80,
      ((v >>> 7) & 0x7f) | 0x80,
      ((v >>> 14) & 0x7f) | 0x80,
      (v >>> 21) & 0x7f,
    );
    return this;
  }

  /** java.lang.String in encoding `enc` (0 null, 1 empty, 2 cp ref = `s` is the id, 3 UTF-8, 4 chars, 5 Latin-1). */
  string(s: string | null, enc = 3): this {
    if (s === null) return this.u8(0);
    if (enc === 1 || (s === '' && enc !== 2)) return this.u8(1);
    this.u8(enc);
    switch (enc) {
      case 2:
        return this.varint(BigInt(s));
      case 3: {
        const b = new TextEncoder().encode(s);
        return this.varint(b.length).raw(b);
      }
      case 4: {
        this.varint(s.length);
        for (let i = 0; i < s.length; i++) this.varint(s.charCodeAt(i));
        return this;
      }
      case 5: {
        this.varint(s.length);
        for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i));
        return this;
      }
      default:
        throw new Error(`encoding ${enc}`);
    }
  }

  get length(): number {
    return this.out.length;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export interface FieldDef {
  name: string;
  type: number;
  cp?: boolean;
  array?: boolean;
}

export interface ClassDef {
  id: number;
  name: string;
  superType?: string;
  fields: FieldDef[];
}

/** Type ids of the standard class set (`standardClasses`). */
export const T = {
  boolean: 10,
  int: 11,
  long: 12,
  short: 13,
  float: 14,
  string: 15,
  byte: 16,
  char: 17,
  double: 18,
  thread: 20,
  klass: 21,
  classLoader: 22,
  frameType: 23,
  threadState: 24,
  stackTrace: 25,
  stackFrame: 26,
  pkg: 27,
  symbol: 28,
  method: 29,
  executionSample: 30,
  activeSetting: 31,
  allocInNewTlab: 32,
  weird: 33,
  inner: 34,
} as const;

export function standardClasses(): ClassDef[] {
  const prim = (id: number, name: string): ClassDef => ({ id, name, fields: [] });
  return [
    prim(T.boolean, 'boolean'),
    prim(T.int, 'int'),
    prim(T.long, 'long'),
    prim(T.short, 'short'),
    prim(T.float, 'float'),
    prim(T.string, 'java.lang.String'),
    prim(T.byte, 'byte'),
    prim(T.char, 'char'),
    prim(T.double, 'double'),
    {
      id: T.thread,
      name: 'java.lang.Thread',
      fields: [
        { name: 'osName', type: T.string },
        { name: 'osThreadId', type: T.long },
      ],
    },
    {
      id: T.klass,
      name: 'java.lang.Class',
      fields: [
        { name: 'classLoader', type: T.classLoader, cp: true },
        { name: 'name', type: T.symbol, cp: true },
        { name: 'package', type: T.pkg, cp: true },
        { name: 'modifiers', type: T.int },
      ],
    },
    {
      id: T.classLoader,
      name: 'jdk.types.ClassLoader',
      fields: [
        { name: 'type', type: T.klass, cp: true },
        { name: 'name', type: T.symbol, cp: true },
      ],
    },
    {
      id: T.frameType,
      name: 'jdk.types.FrameType',
      fields: [{ name: 'description', type: T.string }],
    },
    {
      id: T.threadState,
      name: 'jdk.types.ThreadState',
      fields: [{ name: 'name', type: T.string }],
    },
    {
      id: T.stackTrace,
      name: 'jdk.types.StackTrace',
      fields: [
        { name: 'truncated', type: T.boolean },
        { name: 'frames', type: T.stackFrame, array: true },
      ],
    },
    {
      id: T.stackFrame,
      name: 'jdk.types.StackFrame',
      fields: [
        { name: 'method', type: T.method, cp: true },
        { name: 'lineNumber', type: T.int },
        { name: 'bytecodeIndex', type: T.int },
        { name: 'type', type: T.frameType, cp: true },
      ],
    },
    { id: T.pkg, name: 'jdk.types.Package', fields: [{ name: 'name', type: T.symbol, cp: true }] },
    { id: T.symbol, name: 'jdk.types.Symbol', fields: [{ name: 'string', type: T.string }] },
    {
      id: T.method,
      name: 'jdk.types.Method',
      fields: [
        { name: 'type', type: T.klass, cp: true },
        { name: 'name', type: T.symbol, cp: true },
        { name: 'descriptor', type: T.symbol, cp: true },
        { name: 'modifiers', type: T.int },
        { name: 'hidden', type: T.boolean },
      ],
    },
    {
      id: T.executionSample,
      name: 'jdk.ExecutionSample',
      superType: 'jdk.jfr.Event',
      fields: [
        { name: 'startTime', type: T.long },
        { name: 'sampledThread', type: T.thread, cp: true },
        { name: 'stackTrace', type: T.stackTrace, cp: true },
        { name: 'state', type: T.threadState, cp: true },
      ],
    },
    {
      id: T.activeSetting,
      name: 'jdk.ActiveSetting',
      superType: 'jdk.jfr.Event',
      fields: [
        { name: 'startTime', type: T.long },
        { name: 'duration', type: T.long },
        { name: 'eventThread', type: T.thread, cp: true },
        { name: 'id', type: T.long },
        { name: 'name', type: T.string },
        { name: 'value', type: T.string },
      ],
    },
    {
      id: T.allocInNewTlab,
      name: 'jdk.ObjectAllocationInNewTLAB',
      superType: 'jdk.jfr.Event',
      fields: [
        { name: 'startTime', type: T.long },
        { name: 'eventThread', type: T.thread, cp: true },
        { name: 'weird', type: T.weird },
        { name: 'stackTrace', type: T.stackTrace, cp: true },
        { name: 'objectClass', type: T.klass, cp: true },
        { name: 'allocationSize', type: T.long },
        { name: 'tlabSize', type: T.long },
      ],
    },
    {
      id: T.weird,
      name: 'custom.Weird',
      fields: [
        { name: 'f', type: T.float },
        { name: 'd', type: T.double },
        { name: 'b', type: T.byte },
        { name: 'c', type: T.char },
        { name: 's', type: T.string },
        { name: 'arr', type: T.int, array: true },
        { name: 'inner', type: T.inner, array: true },
      ],
    },
    {
      id: T.inner,
      name: 'custom.Inner',
      fields: [
        { name: 'x', type: T.long },
        { name: 's', type: T.string },
      ],
    },
  ];
}

/** Value bytes of one custom.Weird inline value. */
export function weirdValue(b: Bytes): void {
  b.raw([0x3f, 0x80, 0, 0]); // float 1.0
  b.raw([0x40, 0, 0, 0, 0, 0, 0, 0]); // double 2.0
  b.u8(0xff);
  b.varint(0x263a);
  b.string('ünï', 5);
  b.varint(2).varint(-1).varint(7); // int[] {-1 (9 bytes here), 7}
  b.varint(1).varint(42).string('x', 4);
}

function metadataEvent(classes: ClassDef[]): Uint8Array {
  const strings: string[] = [];
  const idx = new Map<string, number>();
  const s = (v: string): number => {
    let i = idx.get(v);
    if (i === undefined) {
      i = strings.length;
      strings.push(v);
      idx.set(v, i);
    }
    return i;
  };
  const tree = new Bytes();
  const element = (
    name: string,
    attrs: Array<[string, string]>,
    children: () => number,
    body: (b: Bytes) => void,
  ) => {
    tree.varint(s(name)).varint(attrs.length);
    for (const [k, v] of attrs) tree.varint(s(k)).varint(s(v));
    tree.varint(children());
    body(tree);
  };
  element(
    'root',
    [],
    () => 2,
    () => {
      element(
        'metadata',
        [],
        () => classes.length,
        () => {
          for (const c of classes) {
            const attrs: Array<[string, string]> = [
              ['id', String(c.id)],
              ['name', c.name],
            ];
            if (c.superType !== undefined) attrs.push(['superType', c.superType]);
            element(
              'class',
              attrs,
              () => c.fields.length + 1,
              () => {
                element(
                  'annotation',
                  [['class', '99']],
                  () => 0,
                  () => undefined,
                );
                for (const f of c.fields) {
                  const fa: Array<[string, string]> = [
                    ['name', f.name],
                    ['class', String(f.type)],
                  ];
                  if (f.cp) fa.push(['constantPool', 'true']);
                  if (f.array) fa.push(['dimension', '1']);
                  element(
                    'field',
                    fa,
                    () => 0,
                    () => undefined,
                  );
                }
              },
            );
          }
        },
      );
      element(
        'region',
        [['locale', 'en_US']],
        () => 0,
        () => undefined,
      );
    },
  );
  const payload = new Bytes().varint(0).varint(0).varint(0).varint(1).varint(strings.length);
  for (const str of strings) payload.string(str);
  payload.raw(tree.out);
  return new Bytes()
    .padded4(payload.length + 4)
    .raw(payload.out)
    .bytes();
}

export interface PoolDef {
  type: number;
  entries: Array<[id: number | bigint, value: (b: Bytes) => void]>;
}

export interface ChunkDef {
  classes?: ClassDef[];
  /** checkpoint events, each a list of pools; chained by delta, the last one named in the header */
  checkpoints: PoolDef[][];
  /** events in stream order: [type id, payload writer] */
  events: Array<[type: number, payload: (b: Bytes) => void]>;
  minor?: number;
}

/** One chunk: header, events, checkpoints (chained), metadata. */
export function chunk(def: ChunkDef): Uint8Array {
  const body = new Bytes();
  const eventBytes = (type: number, payload: (b: Bytes) => void): number[] => {
    const p = new Bytes().varint(type);
    payload(p);
    return new Bytes().padded4(p.length + 4).raw(p.out).out;
  };
  for (const [type, payload] of def.events) body.raw(eventBytes(type, payload));
  let prev = -1;
  for (const pools of def.checkpoints) {
    const at = 68 + body.length;
    const delta = prev < 0 ? 0 : prev - at;
    body.raw(
      eventBytes(1, (b) => {
        b.varint(0).varint(0).varint(delta).varint(0).varint(pools.length);
        for (const pool of pools) {
          b.varint(pool.type).varint(pool.entries.length);
          for (const [id, value] of pool.entries) {
            b.varint(id);
            value(b);
          }
        }
      }),
    );
    prev = at;
  }
  const metaAt = 68 + body.length;
  body.raw(metadataEvent(def.classes ?? standardClasses()));
  const size = 68 + body.length;
  const h = new Bytes().raw([0x46, 0x4c, 0x52, 0x00, 0, 2, 0, def.minor ?? 0]);
  const u64 = (v: number) => {
    const hi = Math.floor(v / 2 ** 32);
    h.raw([hi >>> 24, hi >>> 16, hi >>> 8, hi, v >>> 24, v >>> 16, v >>> 8, v]);
  };
  u64(size);
  u64(prev < 0 ? metaAt : prev);
  u64(metaAt);
  u64(1_700_000_000);
  u64(1_000_000_000);
  u64(0);
  u64(1_000_000_000);
  h.raw([0, 0, 0, 1]);
  return Uint8Array.from([...h.out, ...body.out]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const U64_MAX = 2n ** 64n - 1n;

export const sym = (id: number, s: string | null, enc = 3): [number, (b: Bytes) => void] => [
  id,
  (b) => b.string(s, enc),
];

/** The pools of the standard test chunk, `shift` added to every id (ids need not be stable across chunks). */
export function pools(shift = 0n): PoolDef[] {
  const id = (v: number | bigint) => BigInt(v) + shift;
  const frames =
    (...f: Array<[method: number, line: number]>) =>
    (b: Bytes) => {
      b.u8(0).varint(f.length);
      for (const [m, l] of f) b.varint(id(m)).varint(l).varint(0).varint(id(1));
    };
  return [
    { type: T.frameType, entries: [[id(1), (b) => b.string('Interpreted')]] },
    {
      type: T.threadState,
      entries: [
        [id(1), (b) => b.string('STATE_RUNNABLE')],
        [id(2), (b) => b.string('STATE_SLEEPING')],
      ],
    },
    { type: T.thread, entries: [[id(1), (b) => b.string('main').varint(1)]] },
    {
      type: T.symbol,
      entries: [
        [id(1), (b) => b.string('com/example/Main')],
        [id(2), (b) => b.string('main')],
        [id(3), (b) => b.string('work')],
        [id(4), (b) => b.string('()V')],
        [id(5), (b) => b.string('com/example/Foo$$Lambda$12.0x0000000800c01234')],
        [id(6), (b) => b.string('run')],
      ],
    },
    {
      type: T.klass,
      entries: [
        [id(100), (b) => b.varint(0).varint(id(1)).varint(0).varint(1)],
        [id(101), (b) => b.varint(0).varint(id(5)).varint(0).varint(1)],
      ],
    },
    {
      type: T.method,
      entries: [
        [id(1000), (b) => b.varint(id(100)).varint(id(2)).varint(id(4)).varint(9).u8(0)],
        [id(1001), (b) => b.varint(id(100)).varint(id(3)).varint(id(4)).varint(9).u8(0)],
        [id(1002), (b) => b.varint(id(101)).varint(id(6)).varint(id(4)).varint(9).u8(1)],
      ],
    },
    {
      type: T.stackTrace,
      entries: [
        [id(7), frames([1001, 12], [1000, 3])],
        [U64_MAX - shift, frames([1002, 0], [1000, 4])],
      ],
    },
  ];
}

export function exec(stack: number | bigint, state: number | bigint) {
  return [T.executionSample, (b: Bytes) => b.varint(123).varint(1).varint(stack).varint(state)] as [
    number,
    (b: Bytes) => void,
  ];
}

export function setting(name: string, value: string, enc = 3) {
  return [
    T.activeSetting,
    (b: Bytes) => b.varint(1).varint(0).varint(1).varint(5).string(name, enc).string(value, enc),
  ] as [number, (b: Bytes) => void];
}

export function alloc(stack: number | bigint, tlab: number | bigint) {
  return [
    T.allocInNewTlab,
    (b: Bytes) => {
      b.varint(9).varint(1);
      weirdValue(b);
      b.varint(stack).varint(100).varint(16).varint(tlab);
    },
  ] as [number, (b: Bytes) => void];
}

export function standardChunk(
  shift = 0n,
  extraEvents: Array<[number, (b: Bytes) => void]> = [],
): Uint8Array {
  const s = (v: number | bigint) => BigInt(v) + shift;
  return chunk({
    checkpoints: [pools(shift)],
    events: [
      setting('event', 'cpu'),
      exec(s(7), s(1)),
      exec(s(7), s(1)),
      exec(s(7), s(1)),
      exec(U64_MAX - shift, s(1)),
      exec(s(7), s(2)), // sleeping: not CPU
      exec(s(99), s(1)), // unknown stack: dropped
      ...extraEvents,
    ],
  });
}

export const STANDARD_CPU = [
  'com/example/Main.main:3;com/example/Main.work:12 [30000000]',
  'com/example/Main.main:4;com/example/Foo$$Lambda_.run:0 [10000000]',
].join('\n');

/**
 * The `golden/pyroscope-jfr` queries: xxhash64 of the query's label set → its thread_name matcher
 * (undefined: the whole service), as the fixtures README lists them.
 */
export const PYROSCOPE_JFR_THREAD_OF_HASH: Record<string, string | undefined> = {
  '17241709254077376921': undefined,
  '2539015855607244867': 'pool-2-thread-1',
  '6511396920643364271': 'pool-2-thread-2',
  '5571933481434853072': 'pool-2-thread-3',
  '10784330302778997279': 'pool-2-thread-4',
  '16370823494798218517': 'pool-2-thread-5',
  '14685508092873724845': 'pool-2-thread-6',
  '15666661103234080825': 'pool-2-thread-7',
  '302387572117411911': 'pool-2-thread-8',
};
