import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fixturePath } from '../../../test/support/paths.js';
import {
  MAX_COMPILED_OPS,
  OP_READ,
  OP_SKIP_BYTE,
  OP_SKIP_VARINT,
  OP_STRING,
  OP_WALK,
  buildFieldReader,
  compileFieldReader,
  fieldReaderSource,
} from './field-reader-compiler.js';
import { Bytes } from './testing.js';

/** A field of a generated event: skipped, or read into `slot`; `value` is what is written. */
interface Field {
  read: boolean;
  value: bigint;
  /** extra continuation bytes (a padded varint, which JFR writers may emit) */
  pad: number;
}

/** One field's bytes: LEB128, padded with zero groups up to `pad` extra bytes (8 at most). */
function fieldBytes(f: Field): number[] {
  const natural = new Bytes().varint(f.value).bytes();
  if (f.pad === 0 || natural.length >= 8) return [...natural];
  const groups = [...natural].map((x) => x & 0x7f);
  const target = Math.min(8, groups.length + f.pad);
  while (groups.length < target) groups.push(0);
  return groups.map((g, i) => (i === groups.length - 1 ? g : g | 0x80));
}

const fieldArb: fc.Arbitrary<Field> = fc.record({
  read: fc.boolean(),
  value: fc.oneof(
    fc.bigInt({ min: 0n, max: 127n }),
    fc.bigInt({ min: 0n, max: 2n ** 28n - 1n }),
    fc.bigInt({ min: 2n ** 28n, max: 2n ** 64n - 1n }),
    fc.constantFrom(2n ** 28n - 1n, 2n ** 28n, 2n ** 56n - 1n, 2n ** 63n, 2n ** 64n - 1n),
  ),
  pad: fc.constantFrom(0, 0, 0, 1, 3),
});

describe('compiled event field readers', () => {
  it('agree with a BigInt reference decoder on random layouts and values', () => {
    fc.assert(
      fc.property(
        fc.array(fieldArb, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 4 }),
        (fields, cut) => {
          const ops = fields.map((f) => (f.read ? OP_READ : OP_SKIP_VARINT));
          const slots = fields.map((f, i) => (f.read ? i % 6 : -1));
          const reader = buildFieldReader(ops, slots);
          const body = Uint8Array.from(fields.flatMap(fieldBytes));
          // the caller's contract: 9 readable bytes per op past the start
          const buf = new Uint8Array(body.length + 9 * fields.length + 3);
          buf.set(body, 3);
          const end = 3 + body.length - cut;
          const vals = new Float64Array(6).fill(-7);
          const pos = reader(buf, 3, end, vals);

          const expectVals = new Float64Array(6).fill(-7);
          let longRead = false;
          fields.forEach((f, i) => {
            if (!f.read) return;
            if (fieldBytes(f).length > 4) longRead = true;
            else expectVals[slots[i]] = Number(f.value);
          });
          if (longRead || cut > 0) {
            assert.equal(pos, -1, 'long values and overruns go to the general path');
            return;
          }
          assert.equal(pos, 3 + body.length);
          assert.deepEqual([...vals], [...expectVals]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('compiles only all-varint layouts of bounded length, once per layout', () => {
    const a = compileFieldReader([OP_SKIP_VARINT, OP_READ], [-1, 2]);
    assert.ok(a !== null);
    assert.equal(compileFieldReader(Uint8Array.of(OP_SKIP_VARINT, OP_READ), [-1, 2]), a);
    assert.notEqual(compileFieldReader([OP_SKIP_VARINT, OP_READ], [-1, 3]), a);
    for (const op of [OP_SKIP_BYTE, OP_STRING, OP_WALK]) {
      assert.equal(compileFieldReader([OP_READ, op], [0, 1]), null, `op ${op}`);
    }
    assert.equal(compileFieldReader([], []), null);
    const long = new Array<number>(MAX_COMPILED_OPS + 1).fill(OP_SKIP_VARINT);
    assert.equal(compileFieldReader(long, long), null);
    assert.equal(compileFieldReader([OP_READ], [128]), null, 'slot outside the Int8Array range');
  });

  it('generates source from templates and slot numbers only', () => {
    const src = fieldReaderSource([OP_SKIP_VARINT, OP_READ, OP_READ], [-1, 0, 5]);
    assert.match(src, /vals\[0\] = v;/);
    assert.match(src, /vals\[5\] = v;/);
    assert.doesNotMatch(src, /vals\[-1\]/);
    // only identifiers of the template, numbers and operators
    const words = new Set(src.match(/[A-Za-z_]+/g));
    assert.deepEqual([...words].sort(), [
      'b',
      'buf',
      'end',
      'if',
      'let',
      'pos',
      'return',
      'v',
      'vals',
    ]);
  });

  it('decodes the same with code generation disabled (--disallow-code-generation-from-strings)', () => {
    // A child decodes a real recording and reports whether layouts were compiled in its process.
    const script = `
      import { readFileSync } from 'node:fs';
      import { gunzipSync } from 'node:zlib';
      const { decodeJfr } = await import(${JSON.stringify(new URL('./profile-mapper.js', import.meta.url).href)});
      const { toCollapsed } = await import(${JSON.stringify(new URL('./collapsed.js', import.meta.url).href)});
      const { compileFieldReader } = await import(${JSON.stringify(new URL('./field-reader-compiler.js', import.meta.url).href)});
      const jfr = gunzipSync(readFileSync(${JSON.stringify(fixturePath('bench', 'async-profiler.jfr.gz'))}));
      const res = decodeJfr({ jfr, startNanos: 1, endNanos: 2, sampleRate: 100 });
      console.log(JSON.stringify({
        compiled: compileFieldReader([0, 1], [-1, 0]) !== null,
        collapsed: res.profiles.map((p) => toCollapsed(p.profile)).join('\\n---\\n'),
      }));`;
    const run = (flags: string[]) =>
      spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 60_000,
        maxBuffer: 64 << 20,
      });
    const plain = run([]);
    const locked = run(['--disallow-code-generation-from-strings']);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(locked.status, 0, locked.stderr);
    const a = JSON.parse(plain.stdout) as { compiled: boolean; collapsed: string };
    const b = JSON.parse(locked.stdout) as { compiled: boolean; collapsed: string };
    assert.equal(a.compiled, true);
    assert.equal(b.compiled, false, 'the op loop alone decoded the recording');
    assert.ok(a.collapsed.length > 0);
    assert.equal(b.collapsed, a.collapsed);
  });
});
