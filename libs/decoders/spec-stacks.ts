// Spec support: renders a decoded profile as collapsed stacks (pure).

import type { Profile } from '../model/index.js';

/** `root;…;leaf` → summed values (one entry per sample type), from a decoded profile. */
export function collapsed(p: Profile, typeIndex = 0): Map<string, number> {
  const out = new Map<string, number>();
  const fnName = new Map(p.function.map((f) => [f.id, p.stringTable[f.name]]));
  const locName = new Map(
    p.location.map((l) => [
      l.id,
      l.line
        .map((ln) => fnName.get(ln.functionId))
        .reverse()
        .join(';'),
    ]),
  );
  for (const s of p.sample) {
    const key = s.locationId
      .map((id) => locName.get(id))
      .reverse()
      .join(';');
    out.set(key, (out.get(key) ?? 0) + Number(s.value[typeIndex]));
  }
  return out;
}

/** Total of one sample type, exact (bigint). */
export function total(p: Profile, typeIndex = 0): bigint {
  let t = 0n;
  for (const s of p.sample) t += BigInt(s.value[typeIndex]);
  return t;
}
