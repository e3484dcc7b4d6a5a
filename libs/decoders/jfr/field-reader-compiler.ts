/**
 * Compiles the field list of an event plan (see `EventPlan` in event-reader.ts) into a
 * straight-line JavaScript function, the way protobufjs and ajv compile their schemas.
 *
 * Why: a recording is mostly one or two event types (async-profiler.jfr is 199,661
 * `jdk.ExecutionSample` events of 14 bytes), so the per-event cost is the whole cost. The
 * interpreted plan loop pays, per field, a load of the op, a load of the output slot and a branch
 * on the op; the compiled form has none of them, and each byte test has its own branch site, so a
 * field whose length rarely changes (a timestamp is 7-8 bytes, a thread id 1-2) is predicted. That
 * is about 10 % of the whole decode of async-profiler.jfr (bench/jfr.ts).
 *
 * Safety: the generated source is built only from this file's templates, field counts and output
 * slot numbers (small integers checked below); nothing from the recording's bytes or names is
 * spliced in. The functions are cached by their op/slot signature for the life of the process, so
 * V8 optimises each once, and the cache is bounded: hostile metadata declaring thousands of event
 * layouts gets the interpreted loop past the bound. Where code generation from strings is disabled
 * (`node --disallow-code-generation-from-strings`), every plan uses the interpreted loop.
 */

/** Field ops of an event plan. */
export const OP_SKIP_VARINT = 0;
export const OP_READ = 1;
export const OP_SKIP_BYTE = 2;
export const OP_STRING = 3;
export const OP_WALK = 4;

/**
 * Reads one event's fields starting at `pos`: stores the bound integers in `vals`, returns the
 * position after the last op. Returns -1 when the event needs the general path: a bound value of
 * more than 4 bytes (28 bits), or fields that run past `end` (the general path then throws).
 *
 * Contract for callers: at least `9 * ops` bytes must be readable from `pos` in `buf` (the code
 * checks the event end once, at the end). A -1 return may have written some `vals`: the general
 * path rewrites them from the event start.
 */
export type CompiledFieldReader = (
  buf: Uint8Array,
  pos: number,
  end: number,
  vals: Float64Array,
) => number;

/** Longest op list compiled (fields up to the last bound one); longer ones stay interpreted. */
export const MAX_COMPILED_OPS = 32;
/** Distinct layouts compiled per process. */
export const MAX_COMPILED_LAYOUTS = 256;

const cache = new Map<string, CompiledFieldReader>();
let codegenAvailable = true;

const SKIP_VARINT_SOURCE =
  'if (' + new Array(8).fill('buf[pos++] >= 128').join(' && ') + ') pos++;\n';

function readVarintSource(slot: number): string {
  return (
    'b = buf[pos++]; v = b & 127;\n' +
    'if (b >= 128) { b = buf[pos++]; v |= (b & 127) << 7;\n' +
    ' if (b >= 128) { b = buf[pos++]; v |= (b & 127) << 14;\n' +
    '  if (b >= 128) { b = buf[pos++]; v |= (b & 127) << 21;\n' +
    '   if (b >= 128) return -1; } } }\n' +
    `vals[${slot}] = v;\n`
  );
}

/** The JavaScript source of the reader for `ops` (exported for tests). */
export function fieldReaderSource(ops: ArrayLike<number>, slots: ArrayLike<number>): string {
  let body = 'let b = 0;\nlet v = 0;\n';
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] === OP_SKIP_VARINT) body += SKIP_VARINT_SOURCE;
    else body += readVarintSource(slots[i]);
  }
  return body + 'return pos > end ? -1 : pos;\n';
}

/**
 * Generates the reader for `ops` without the cache or the eligibility checks (tests; the decoder
 * uses `compileFieldReader`). Throws EvalError where code generation from strings is disabled.
 */
export function buildFieldReader(
  ops: ArrayLike<number>,
  slots: ArrayLike<number>,
): CompiledFieldReader {
  // The only code generation in Emberflow: source from fixed templates only (see the file comment).
  return new Function(
    'buf',
    'pos',
    'end',
    'vals',
    fieldReaderSource(ops, slots),
  ) as CompiledFieldReader;
}

/**
 * The compiled reader for a plan whose ops are all `OP_SKIP_VARINT`/`OP_READ`, or null when the
 * plan must stay interpreted (other ops, too long, cache full, code generation disabled).
 */
export function compileFieldReader(
  ops: ArrayLike<number>,
  slots: ArrayLike<number>,
): CompiledFieldReader | null {
  if (!codegenAvailable || ops.length === 0 || ops.length > MAX_COMPILED_OPS) return null;
  let key = '';
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op === OP_SKIP_VARINT) key += 's';
    else if (op === OP_READ) {
      const slot = slots[i];
      if (!Number.isInteger(slot) || slot < 0 || slot > 127) return null;
      key += `r${slot}`;
    } else return null;
  }
  const known = cache.get(key);
  if (known !== undefined) return known;
  if (cache.size >= MAX_COMPILED_LAYOUTS) return null;
  let compiled: CompiledFieldReader;
  try {
    compiled = buildFieldReader(ops, slots);
  } catch (e) {
    if (e instanceof EvalError) {
      codegenAvailable = false;
      return null;
    }
    throw e;
  }
  cache.set(key, compiled);
  return compiled;
}
