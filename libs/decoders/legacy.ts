// The shared tail of the legacy formats (groups, lines, trie, tree, speedscope): stacks are
// accumulated in a call tree, the tree becomes a single-sample-type pprof, and the series gets
// the labels of Pyroscope's ingest adapter (`pkg/ingester/pyroscope/ingest_adapter.go` Put,
// `pkg/og/storage/tree/{tree,pprof}.go`; pyroscope-protocol.md §1.6.3).
//
// Values are uint64 in Pyroscope's tree: sums and the period scaling wrap modulo 2^64, and the
// result is reinterpreted as int64 in the pprof (so a negative folded value stays negative and is
// then dropped by normalisation). bigint reproduces that exactly.

import {
  LABEL_PROFILE_ID,
  emptyProfile,
  legacyIngestLabels,
  legacyProfileType,
  toInt64,
} from '../model/index.js';
import type { LabelPair, Profile } from '../model/index.js';
import { DecodeError } from './decode-error.js';
import type { DecodedSeries, DecodeInput, DecodeLimits } from './decoder.js';
import { finishSeries, nowNanos } from './series-pipeline.js';

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** A node of a StackTree; opaque outside this module. */
export interface StackNode {
  name: string;
  self: bigint;
  children: Map<string, StackNode> | undefined;
  childList: StackNode[] | undefined;
}

function newNode(name: string): StackNode {
  return { name, self: 0n, children: undefined, childList: undefined };
}

/** A call tree keyed by frame names (Pyroscope's `tree.Tree`). */
export class StackTree {
  readonly root: StackNode = newNode('');
  private nodes = 1;

  /** Number of nodes, root included (bounds the work of `toProfile`). */
  get size(): number {
    return this.nodes;
  }

  private child(n: StackNode, name: string): StackNode {
    if (n.children === undefined) {
      n.children = new Map();
      n.childList = [];
    }
    let c = n.children.get(name);
    if (c === undefined) {
      c = newNode(name);
      n.children.set(name, c);
      n.childList!.push(c);
      this.nodes++;
    }
    return c;
  }

  /** The node reached from `from` through `frames` (created as needed). */
  walk(from: StackNode, frames: readonly string[]): StackNode {
    let n = from;
    for (const f of frames) n = this.child(n, f);
    return n;
  }

  /** Adds `value` (mod 2^64) to a node's own value. */
  addAt(n: StackNode, value: bigint): void {
    n.self = U64(n.self + value);
  }

  /** `Insert`: splits `key` on `;` (a single trailing `;` adds no empty frame). */
  insertKey(key: string, value: bigint): void {
    const frames = key.split(';');
    if (frames[frames.length - 1] === '') frames.pop();
    this.insertFrames(frames, value);
  }

  /** `InsertStackString`: frames root first, taken as they are. */
  insertFrames(rootFirst: readonly string[], value: bigint): void {
    let n = this.root;
    for (const f of rootFirst) n = this.child(n, f);
    n.self = U64(n.self + value);
  }

  /** `Scale`: every value multiplied modulo 2^64. */
  scale(factor: bigint): void {
    const stack: StackNode[] = [this.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      n.self = U64(n.self * factor);
      if (n.childList) for (const c of n.childList) stack.push(c);
    }
  }

  /** Number of nodes with a non-zero value: the samples `toProfile` will produce. */
  countStacks(): number {
    let n = 0;
    const stack: StackNode[] = [this.root];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (x.self > 0n) n++;
      if (x.childList) for (const c of x.childList) stack.push(c);
    }
    return n;
  }

  /**
   * Visits every node with a non-zero value with its stack leaf first (`IterateStacks`). With
   * `maxDepth` > 0 only the `maxDepth` frames nearest the root are given: Pyroscope's validation
   * truncates there anyway, and this keeps the work linear for pathological deep trees.
   */
  forEachStack(cb: (leafFirst: string[], self: bigint) => void, maxDepth = 0): void {
    const path: string[] = [];
    const work: { node: StackNode; depth: number }[] = [{ node: this.root, depth: 0 }];
    while (work.length > 0) {
      const { node, depth } = work.pop()!;
      if (depth > 0) path[depth - 1] = node.name;
      if (node.self > 0n) {
        const keep = maxDepth > 0 ? Math.min(depth, maxDepth) : depth;
        const stack = new Array<string>(keep);
        for (let i = 0; i < keep; i++) stack[keep - 1 - i] = path[i];
        cb(stack, node.self);
      }
      if (node.childList) {
        for (let i = node.childList.length - 1; i >= 0; i--) {
          work.push({ node: node.childList[i], depth: depth + 1 });
        }
      }
    }
  }
}

export interface LegacyMetadata {
  type: string;
  unit: string;
  periodType?: string;
  periodUnit?: string;
  period?: bigint;
  startNanos: bigint;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Frame names of the byte formats (folded, lines, trie, tree) are kept as "byte strings" (one
 * char per byte, latin1) while parsing, as Go keeps bytes; only names that reach the pprof are
 * decoded, and one that is not UTF-8 is rejected as Pyroscope's validation would.
 */
export function decodeByteString(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s;
  try {
    return utf8.decode(Buffer.from(s, 'latin1'));
  } catch {
    throw new DecodeError('invalid_utf8', 'invalid utf8 string in a frame name');
  }
}

/** `Tree.Pprof`: one fake mapping, one function+location per distinct frame name. */
export function treeToProfile(
  tree: StackTree,
  md: LegacyMetadata,
  frameName: (raw: string) => string = (s) => s,
  maxDepth = 0,
): Profile {
  const p = emptyProfile();
  const strings = new Map<string, number>([['', 0]]);
  const str = (s: string): number => {
    let i = strings.get(s);
    if (i === undefined) {
      i = p.stringTable.length;
      p.stringTable.push(s);
      strings.set(s, i);
    }
    return i;
  };
  p.mapping.push({
    id: 1,
    memoryStart: 0,
    memoryLimit: 0,
    fileOffset: 0,
    filename: 0,
    buildId: 0,
    hasFunctions: false,
    hasFilenames: false,
    hasLineNumbers: false,
    hasInlineFrames: false,
  });
  p.sampleType.push({ type: str(md.type), unit: str(md.unit) });
  p.timeNanos = toInt64(md.startNanos);
  p.durationNanos = 0;
  if (md.period !== undefined && md.period !== 0n && md.periodType && md.periodUnit) {
    p.period = toInt64(md.period);
    p.periodType = { type: str(md.periodType), unit: str(md.periodUnit) };
  }
  const locations = new Map<string, number>();
  tree.forEachStack((stack, self) => {
    const ids = stack.map((frame) => {
      let id = locations.get(frame);
      if (id === undefined) {
        id = p.location.length + 1;
        const name = str(frameName(frame));
        p.function.push({ id, name, systemName: name, filename: 0, startLine: 0 });
        p.location.push({
          id,
          mappingId: 1,
          address: 0,
          line: [{ functionId: id, line: 0, column: 0 }],
          isFolded: false,
        });
        locations.set(frame, id);
      }
      return id;
    });
    p.sample.push({ locationId: ids, value: [toInt64(self)], label: [] });
  }, maxDepth);
  return p;
}

export interface LegacyUpload {
  /** the app name, type suffix included (`app.cpu`) */
  appName: string;
  /** labels from `name` (no `__name__`) plus any the format adds (speedscope `profile_name`) */
  labels: Record<string, string>;
  spyName: string;
  sampleRate: number;
  fromNanos: string;
}

/** Parses a decimal nanosecond string; anything else is 0. */
export function parseNanos(s: string): bigint {
  return /^-?\d{1,25}$/.test(s) ? BigInt.asIntN(64, BigInt(s)) : 0n;
}

/**
 * Turns the accumulated tree into one series (Pyroscope's `Put`), or none when the labels carry a
 * non-empty `profile_id` (silently dropped upstream). Throws `invalid_labels` for an unknown
 * type suffix.
 */
export function legacySeries(
  tree: StackTree,
  up: LegacyUpload,
  limits: Pick<DecodeLimits, 'maxSamples' | 'maxStackDepth'>,
  frameName?: (raw: string) => string,
): { labels: LabelPair[]; profile: Profile } | undefined {
  if (up.labels[LABEL_PROFILE_ID]) return undefined;
  const t = legacyProfileType(up.appName);
  if (t === undefined) {
    const dot = up.appName.lastIndexOf('.');
    throw new DecodeError('invalid_labels', `unknown profile type: ${up.appName.slice(dot + 1)}`);
  }
  const md: LegacyMetadata = {
    type: t.sampleType,
    unit: t.sampleUnit,
    startNanos: parseNanos(up.fromNanos),
  };
  // The query parser stores sampleRate as a uint32.
  const r = Number.isFinite(up.sampleRate) ? Math.trunc(up.sampleRate) : 0;
  const rate = BigInt.asUintN(32, BigInt(r));
  if (rate !== 0n && (t.metric === 'wall' || t.metric === 'process_cpu')) {
    const period = 1000000000n / rate;
    md.period = period;
    md.periodType = 'cpu';
    md.periodUnit = 'nanoseconds';
    md.type = t.metric === 'wall' ? 'wall' : 'cpu';
    md.unit = 'nanoseconds';
    tree.scale(period);
  }
  // Checked before the profile is built (Pyroscope checks after): same outcome, bounded work.
  const samples = tree.countStacks();
  if (limits.maxSamples > 0 && samples > limits.maxSamples) {
    throw new DecodeError(
      'too_many_samples',
      `the profile exceeds the samples count limit (max_profile_stacktrace_samples, actual: ${samples}, limit: ${limits.maxSamples})`,
    );
  }
  const profile = treeToProfile(tree, md, frameName, limits.maxStackDepth);

  const labels = legacyIngestLabels({
    metric: t.metric,
    app: t.app,
    spyName: up.spyName,
    labels: up.labels,
  });
  return { labels, profile };
}

/**
 * The shared tail of the legacy decoders (groups, lines, tree, trie): `fill` parses the body
 * into a stack tree, which becomes one series with Pyroscope's legacy labels, then goes through
 * the distributor steps. An empty tree or an upload Pyroscope drops yields no series.
 */
export function decodeLegacyUpload(
  input: DecodeInput,
  limits: DecodeLimits,
  fill: (tree: StackTree) => void,
): DecodedSeries[] {
  const tree = new StackTree();
  fill(tree);
  const p = input.params;
  const raw = legacySeries(
    tree,
    {
      appName: p.appName,
      labels: p.labels,
      spyName: p.spyName,
      sampleRate: p.sampleRate,
      fromNanos: p.fromNanos,
    },
    limits,
    decodeByteString,
  );
  return raw === undefined ? [] : finishSeries(raw, limits, nowNanos(input));
}
