// Folded stacks: `groups` (`a;b;c 10` per line, the /ingest default) and `lines` (one stack per
// line, weight 1). Pyroscope: `pkg/og/convert/parser.go` ParseGroups / ParseIndividualLines;
// pyroscope-protocol.md §5.1.
//
// Go reads lines with bufio.Scanner: `\n` separated, one trailing `\r` dropped, and a line of
// 64 KiB or more stops the scan. For groups that stop is silent (the remaining lines are
// ignored, the upload succeeds); for lines it is an error.

import { DecodeError } from '../decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits, Decoder } from '../decoder.js';
import type { StackTree } from '../legacy.js';
import { decodeLegacyUpload } from '../legacy.js';

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Go `strconv.Atoi` on a 64-bit platform; undefined where it returns an error. */
export function parseGoInt(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v > INT64_MAX || v < INT64_MIN ? undefined : v;
}

/** The body as a byte string (one char per byte), split into Scanner lines. */
function scanLines(body: Uint8Array, maxLineBytes: number): { lines: string[]; tooLong: boolean } {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    const last = end < 0;
    if (last) end = text.length;
    if (maxLineBytes > 0 && end - start >= maxLineBytes) return { lines, tooLong: true };
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    lines.push(line);
    start = end + 1;
  }
  return { lines, tooLong: false };
}

/** Parses a groups body into `tree`. Exported for tests and the benchmarks. */
export function parseGroups(body: Uint8Array, tree: StackTree, limits: DecodeLimits): void {
  const { lines } = scanLines(body, limits.maxLineBytes);
  for (const line of lines) {
    const sp = line.lastIndexOf(' ');
    if (sp < 0) continue;
    const v = parseGoInt(line.slice(sp + 1));
    if (v === undefined) {
      throw new DecodeError(
        'malformed',
        `invalid value in folded line: ${JSON.stringify(line.slice(sp + 1, sp + 41))}`,
      );
    }
    tree.insertKey(line.slice(0, sp), v);
  }
}

/** Parses a lines body into `tree`. */
export function parseLines(body: Uint8Array, tree: StackTree, limits: DecodeLimits): void {
  const { lines, tooLong } = scanLines(body, limits.maxLineBytes);
  if (tooLong) throw new DecodeError('malformed', 'bufio.Scanner: token too long');
  const counts = new Map<string, bigint>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0n) + 1n);
  for (const [key, n] of counts) if (key !== '') tree.insertKey(key, n);
}

export const foldedDecoder: Decoder = {
  formats: ['groups', 'lines'],
  decode(input: DecodeInput, limits: DecodeLimits): DecodedSeries[] {
    return decodeLegacyUpload(input, limits, (tree) =>
      input.format === 'lines'
        ? parseLines(input.body, tree, limits)
        : parseGroups(input.body, tree, limits),
    );
  },
};
