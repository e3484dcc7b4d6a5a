// Production-shaped uploads, generated: a fixture of 18 KB says nothing about a 1.5 MB upload
// with 12,000 distinct stacks. Deterministic per seed, with the exact totals they must come
// back with, so a lost, duplicated or truncated upload shows.

export interface GeneratedUpload {
  body: Buffer;
  /** sum of every stack's count */
  total: number;
  stacks: number;
}

/** xorshift32: a small, seeded, reproducible source of numbers for generated stacks */
function rng(seed: number): () => number {
  let x = seed | 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const PACKAGES = [
  'com.acme.orders',
  'com.acme.billing',
  'io.netty.channel',
  'org.springframework.web',
  'java.util.concurrent',
  'com.acme.search.index',
];
const CLASSES = [
  'Controller',
  'Service',
  'Repository',
  'Handler',
  'Executor',
  'Codec',
  'Pipeline',
  'Worker',
];
const METHODS = [
  'handle',
  'process',
  'run',
  'encode',
  'decode',
  'lookup',
  'submit',
  'flush',
  'read',
  'write',
];

/**
 * Folded text (`a;b;c 12` lines) of `stacks` distinct stacks, about `targetBytes` long, shaped
 * like a large service's CPU profile: a shared trunk (main, thread pools, frameworks) and deep
 * branches of application frames, most of them distinct (generated classes, lambdas), so the
 * normalised pprof is larger than the text (a 1.5 MB upload becomes a 3 MB+ record). Every
 * line ends in a leaf unique to the upload (`leaf_<seed>_<i>`).
 */
export function foldedUpload(
  seed: number,
  stacks = 12_000,
  targetBytes = 1_450_000,
): GeneratedUpload {
  const next = rng(seed + 1);
  const perLine = targetBytes / stacks;
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; i < stacks; i++) {
    const frames: string[] = [
      'main',
      `${PACKAGES[i % PACKAGES.length]}.${CLASSES[i % CLASSES.length]}`,
    ];
    let len = frames.join(';').length;
    const leaf = `leaf_${seed}_${i}`;
    const want = perLine * (0.7 + next() * 0.6) - leaf.length - 6;
    while (len < want) {
      // mostly distinct short frames (generated code, JIT stubs): each costs a few bytes of
      // text but a string, a function and a location in the pprof
      const f = `${METHODS[Math.floor(next() * METHODS.length)]}${Math.floor(next() * 150_000)}`;
      frames.push(f);
      len += f.length + 1;
    }
    frames.push(leaf);
    const count = 1 + Math.floor(next() * 50);
    total += count;
    lines.push(`${frames.join(';')} ${count}`);
  }
  return { body: Buffer.from(`${lines.join('\n')}\n`), total, stacks };
}
