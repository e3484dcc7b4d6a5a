import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ProfileBuilder, encodePprof } from '../../libs/model/index.js';

// The upload of the overload benchmark: what a busy Go service's agent sends every 10 s, a
// gzipped CPU pprof of about 1.5 MB with 12,000 distinct stacks (20-50 frames each over 30,000
// locations of 15,000 functions), wrapped in the Go SDK's multipart form. Deterministic (seeded),
// so every run sends the same bytes; each request gets its own from/until so dedupe keeps them.

/** mulberry32: a small seeded generator with a full 2^32 period. */
function seeded(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface OverloadPayload {
  body: Buffer;
  contentType: string;
  stacks: number;
  /** the gzipped pprof inside the form */
  pprofBytes: number;
}

export function overloadPayload(
  stacks = 12_000,
  functions = 15_000,
  locations = 30_000,
): OverloadPayload {
  const rnd = seeded(42);
  const hex = (): string =>
    Math.floor(rnd() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  const b = new ProfileBuilder()
    .sampleType('samples', 'count')
    .sampleType('cpu', 'nanoseconds')
    .period('cpu', 'nanoseconds', 10_000_000n);
  const names = Array.from(
    { length: functions },
    (_, i) => `github.com/acme/svc${i % 37}/pkg${i % 211}.(*Handler${i % 997}).Method${i}_${hex()}`,
  );
  const locs = Array.from({ length: locations }, (_, i) => {
    const f = Math.floor(rnd() * functions);
    return b.location(names[f], `/src/acme/pkg${f % 211}/file${f % 997}.go`, 1 + (i % 300));
  });
  for (let s = 0; s < stacks; s++) {
    const depth = 20 + Math.floor(rnd() * 30);
    const ids: number[] = [];
    for (let d = 0; d < depth; d++) ids.push(locs[Math.floor(rnd() * locations)]);
    const n = 1 + Math.floor(rnd() * 50);
    b.sample(ids, [BigInt(n), BigInt(n) * 10_000_000n]);
  }
  const pprof = gzipSync(encodePprof(b.build()));
  const boundary = randomBytes(30).toString('hex');
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="profile"; filename="profile.pprof"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    pprof,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return {
    body,
    contentType: `multipart/form-data; boundary=${boundary}`,
    stacks,
    pprofBytes: pprof.length,
  };
}
