// The components one process can run, as in Pyroscope's and Loki's -target: `all` (the default)
// runs every stage in one process; a comma list runs the named ones.

export const TARGETS = ['ingest', 'decoder', 'exporter'] as const;
export type Target = (typeof TARGETS)[number];

/** Parses EMBER_TARGETS; throws on unknown names, listing the valid ones. */
export function parseTargets(spec: string): Target[] {
  const names = spec
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0)
    throw new Error('no target given; use all, or a comma list of ' + TARGETS.join(', '));
  const out = new Set<Target>();
  const unknown: string[] = [];
  for (const n of names) {
    if (n === 'all') TARGETS.forEach((t) => out.add(t));
    else if ((TARGETS as readonly string[]).includes(n)) out.add(n as Target);
    else unknown.push(n);
  }
  if (unknown.length > 0) {
    throw new Error(`unknown target(s) ${unknown.join(', ')}; valid: all, ${TARGETS.join(', ')}`);
  }
  return TARGETS.filter((t) => out.has(t));
}
