// The pprof codec benchmark: our hand-written decoder and encoder (libs/model/pprof) against
// pprof-format (the npm codec the research measured) and protobufjs, on the same uncompressed
// bytes, in one process, alternating ours and the reference each iteration so load from other
// processes on the machine hits both alike.
//
// Time is the process's CPU time (user + system, all threads, so parallel GC work counts), not
// wall time: the machine is shared, and wall time then measures the neighbours' load. On an
// idle machine the two agree to within the GC helper threads' share.
//
// No forced gc() between runs: on Node 20 a full collection deoptimises the optimised code of
// both codecs ("weak objects" in --trace-deopt), so a run right after gc() measures
// recompilation, not decoding (ours: 6x slower for one run, recovered after about three).
//
// Run alone:  npx tsc -p tsconfig.build.json && node dist/bench/pprof-decode.js
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofFormatProfile } from 'pprof-format';
import protobuf from 'protobufjs';
import { decodePprof, encodePprof } from '../libs/model/index.js';
import { fixturePath } from '../test/support/paths.js';
import type { BenchResult } from './bench-result.js';
import { formatBenchTable } from './bench-result.js';

const WARMUP = 5;
/** timed batches per side; the result is their median */
const ITERATIONS = 15;
/** CPU time a batch aims at */
const BATCH_MS = 150;

interface Input {
  name: string;
  raw: Buffer;
}

function input(name: string, ...parts: string[]): Input {
  const b = readFileSync(fixturePath(...parts));
  return { name, raw: b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b };
}

// profile.proto as protobufjs needs it (field numbers and types only).
const PROFILE_PROTO = `
syntax = "proto3";
package perftools.profiles;
message Profile {
  repeated ValueType sample_type = 1; repeated Sample sample = 2; repeated Mapping mapping = 3;
  repeated Location location = 4; repeated Function function = 5; repeated string string_table = 6;
  int64 drop_frames = 7; int64 keep_frames = 8; int64 time_nanos = 9; int64 duration_nanos = 10;
  ValueType period_type = 11; int64 period = 12; repeated int64 comment = 13;
  int64 default_sample_type = 14; int64 doc_url = 15;
}
message ValueType { int64 type = 1; int64 unit = 2; }
message Sample { repeated uint64 location_id = 1; repeated int64 value = 2; repeated Label label = 3; }
message Label { int64 key = 1; int64 str = 2; int64 num = 3; int64 num_unit = 4; }
message Mapping {
  uint64 id = 1; uint64 memory_start = 2; uint64 memory_limit = 3; uint64 file_offset = 4;
  int64 filename = 5; int64 build_id = 6; bool has_functions = 7; bool has_filenames = 8;
  bool has_line_numbers = 9; bool has_inline_frames = 10;
}
message Location { uint64 id = 1; uint64 mapping_id = 2; uint64 address = 3; repeated Line line = 4; bool is_folded = 5; }
message Line { uint64 function_id = 1; int64 line = 2; int64 column = 3; }
message Function { uint64 id = 1; int64 name = 2; int64 system_name = 3; int64 filename = 4; int64 start_line = 5; }
`;

/** CPU time of this process in milliseconds. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Times `ours` and `reference` alternately and returns their median throughput in MB/s
 * (decimal MB of uncompressed pprof per second).
 */
async function sideBySide(
  name: string,
  bytes: number,
  ours: () => unknown,
  reference: () => unknown,
): Promise<BenchResult> {
  const perBatchOurs = calibrate(ours);
  const perBatchRef = calibrate(reference);
  const tOurs: number[] = [];
  const tRef: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    tOurs.push(batch(ours, perBatchOurs));
    tRef.push(batch(reference, perBatchRef));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const mbps = (ms: number): number => bytes / 1e6 / (ms / 1e3);
  const o = mbps(median(tOurs));
  const r = mbps(median(tRef));
  return { name, ours: o, reference: r, unit: 'MB/s', ratio: o / r };
}

/** Warms `fn` up and returns how many runs make a batch of about BATCH_MS. */
function calibrate(fn: () => unknown): number {
  const t: number[] = [];
  for (let i = 0; i < WARMUP; i++) {
    const t0 = cpuMs();
    fn();
    t.push(cpuMs() - t0);
  }
  return Math.min(50, Math.max(1, Math.ceil(BATCH_MS / Math.max(0.01, median(t)))));
}

/**
 * CPU milliseconds per run over `runs` runs. The batch amortises collections over several runs
 * (a decode that allocates 20 MB pays a scavenge every second run or so: single-run times are
 * bimodal and their median flips between modes); two untimed runs first absorb the
 * collection of the other side's garbage.
 */
function batch(fn: () => unknown, runs: number): number {
  fn();
  fn();
  const t0 = cpuMs();
  for (let i = 0; i < runs; i++) fn();
  return (cpuMs() - t0) / runs;
}

/** Runs every pprof codec comparison; prints nothing. */
export async function runPprofBench(): Promise<BenchResult[]> {
  const root = protobuf.parse(PROFILE_PROTO).root;
  const PbProfile = root.lookupType('perftools.profiles.Profile');
  const inputs = [
    input('large.cpu', 'bench', 'large.cpu'),
    input('heap', 'pyroscope', 'pprof', 'heap'),
    input('profile_java', 'pyroscope', 'pprof', 'profile_java'),
  ];
  const results: BenchResult[] = [];
  for (const { name, raw } of inputs) {
    const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    // pprof-format is given a Buffer: its releases up to 2.2.2 are quadratic on a plain
    // Uint8Array, and a Buffer is what a Node caller has anyway.
    results.push(
      await sideBySide(
        `pprof decode ${name} vs pprof-format`,
        raw.length,
        () => decodePprof(bytes),
        () => PprofFormatProfile.decode(raw),
      ),
    );
    results.push(
      await sideBySide(
        `pprof decode ${name} vs protobufjs`,
        raw.length,
        () => decodePprof(bytes),
        () => PbProfile.decode(raw),
      ),
    );
    const ours = decodePprof(bytes);
    const theirs = PprofFormatProfile.decode(raw);
    const pb = PbProfile.decode(raw);
    results.push(
      await sideBySide(
        `pprof encode ${name} vs pprof-format`,
        raw.length,
        () => encodePprof(ours),
        () => theirs.encode(),
      ),
    );
    results.push(
      await sideBySide(
        `pprof encode ${name} vs protobufjs`,
        raw.length,
        () => encodePprof(ours),
        () => PbProfile.encode(pb).finish(),
      ),
    );
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await runPprofBench();
  console.log(formatBenchTable(results));
}
