import type { Int64, Profile } from '../../model/index.js';

/**
 * Renders a profile the way jfr-parser's golden files do (`stackCollapseProto` with line numbers):
 * one line per distinct stack, `root;…;leaf [v1 v2]`, frames `name:line`, lines sorted bytewise,
 * samples whose values are all zero left out, no trailing newline. Used by the conformance tests
 * and handy for debugging.
 */
export function toCollapsed(p: Profile): string {
  const locs = new Map<number, string[]>();
  const funcs = new Map<number, string>();
  for (const f of p.function) funcs.set(f.id, p.stringTable[f.name]);
  for (const l of p.location) {
    locs.set(
      l.id,
      l.line.map((ln) => `${funcs.get(ln.functionId) ?? ''}:${ln.line}`),
    );
  }
  const stacks: Array<{ key: string; value: Int64[] }> = [];
  for (const s of p.sample) {
    if (s.value.every((v) => v === 0 || v === 0n)) continue;
    const names: string[] = [];
    for (let i = s.locationId.length - 1; i >= 0; i--) {
      for (const n of locs.get(s.locationId[i]) ?? []) names.push(n);
    }
    stacks.push({ key: names.join(';'), value: s.value.slice() });
  }
  stacks.sort((a, b) => compareBytes(a.key, b.key));
  const out: string[] = [];
  let prev: { key: string; value: Int64[] } | undefined;
  for (const s of stacks) {
    if (prev !== undefined && prev.key === s.key) {
      prev.value = prev.value.map((v, i) => add(v, s.value[i]));
      continue;
    }
    if (prev !== undefined) out.push(line(prev));
    prev = s;
  }
  if (prev !== undefined) out.push(line(prev));
  return out.join('\n');
}

function line(s: { key: string; value: Int64[] }): string {
  return `${s.key} [${s.value.join(' ')}]`;
}

function add(a: Int64, b: Int64): Int64 {
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a + b)) return a + b;
  const s = BigInt.asIntN(64, BigInt(a) + BigInt(b));
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(s)
    : s;
}

/** Go's strings.Compare order (UTF-8 bytes), which differs from UTF-16 order only above U+FFFF. */
function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // surrogates (U+D800–DFFF) encode code points above U+FFFF, which sort after U+E000–FFFF in UTF-8
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
      return x - y;
    }
  }
  return a.length - b.length;
}
