import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type FlamegraphAnswer, selectMergeStacktraces } from '../support/query-client.js';

// Process and query helpers of the agent compatibility suite (test/agents/run.ts). Everything a
// case starts is started here, in its own process group, and ended here by that group's id.

export interface RunResult {
  /** the spawned process's pid (for `bash -c 'exec ...'`, the program's own) */
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

/** One failure with its reason and, optionally, the output that explains it. */
export class CaseFailure extends Error {
  constructor(
    message: string,
    readonly detail = '',
  ) {
    super(message);
  }
}

export function tail(text: string, lines = 40): string {
  const all = text.trimEnd().split('\n');
  return all.slice(Math.max(0, all.length - lines)).join('\n');
}

/**
 * Runs a command to completion (or until `timeoutMs`, then SIGKILL to its process group),
 * appending its output to `logFile`. Never throws for a non-zero exit: the caller decides.
 */
export function run(
  cmd: string,
  args: string[],
  opts: {
    cwd: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs: number;
    logFile: string;
    onLine?: (line: string) => void;
  },
): Promise<RunResult> {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  appendFileSync(opts.logFile, `\n$ (cd ${opts.cwd} && ${cmd} ${args.join(' ')})\n`);
  return new Promise((resolve) => {
    let output = '';
    let partial = '';
    let timedOut = false;
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const onData = (d: Buffer): void => {
      const s = d.toString();
      output += s;
      appendFileSync(opts.logFile, s);
      if (opts.onLine) {
        partial += s;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) opts.onLine(l);
      }
    };
    if (child.pid !== undefined) live.add(child.pid);
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      output += `\n${cmd}: ${err.message}\n`;
      appendFileSync(opts.logFile, `${cmd}: ${err.message}\n`);
      resolve({ pid: child.pid, code: 127, signal: null, output, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial && opts.onLine) opts.onLine(partial);
      // Leftovers of the group (an agent's helper process) go with it.
      killGroup(child.pid);
      if (child.pid !== undefined) live.delete(child.pid);
      resolve({ pid: child.pid, code, signal, output, timedOut });
    });
  });
}

/** Process groups started by `run` and not yet ended: `endAll` ends them on an interrupt. */
const live = new Set<number>();

export function endAll(): void {
  for (const pid of live) killGroup(pid);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs a setup step and throws a CaseFailure with the output's tail when it does not exit 0. */
export async function step(
  what: string,
  cmd: string,
  args: string[],
  opts: Parameters<typeof run>[2],
): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0 || r.timedOut) {
    const why = r.timedOut ? `timed out after ${opts.timeoutMs / 1000} s` : `exit ${r.code}`;
    throw new CaseFailure(`${what} failed (${why})`, tail(r.output));
  }
  return r.output;
}

// ---- query API -------------------------------------------------------------------------------

export interface Window {
  start: number;
  end: number;
}

async function post<T>(
  url: string,
  method: string,
  body: unknown,
): Promise<{ status: number; json: T | undefined; text: string }> {
  const r = await fetch(`${url}/querier.v1.QuerierService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  let json: T | undefined;
  try {
    json = JSON.parse(text) as T;
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text };
}

export async function labelValues(
  url: string,
  name: string,
  selector: string,
  w: Window,
): Promise<string[]> {
  const r = await post<{ names?: string[] }>(url, 'LabelValues', {
    name,
    matchers: [selector],
    start: w.start,
    end: w.end,
  });
  if (r.status !== 200) throw new Error(`LabelValues answered ${r.status}: ${r.text}`);
  return r.json?.names ?? [];
}

export async function flamegraph(
  url: string,
  profileTypeID: string,
  labelSelector: string,
  w: Window,
): Promise<FlamegraphAnswer['flamegraph']> {
  const a = await selectMergeStacktraces(url, { profileTypeID, labelSelector, ...w });
  return a.flamegraph;
}

/**
 * The flame graph of the samples of one span: SelectMergeSpanProfile when the store answers it
 * (Pyroscope's span query), else a label selector on the sample label that carries span ids
 * (`span_id` for Go and Python, `profile_id` for Java's JFR) — which only works where the store
 * keeps that label as a series label. `how` says which one answered.
 */
export async function spanFlamegraph(
  url: string,
  profileTypeID: string,
  labelSelector: string,
  spanLabel: string,
  spanId: string,
  w: Window,
): Promise<{ fg: FlamegraphAnswer['flamegraph']; how: string }> {
  const r = await post<FlamegraphAnswer>(url, 'SelectMergeSpanProfile', {
    profileTypeID,
    labelSelector,
    spanSelector: [spanId],
    ...w,
  });
  if (r.status === 200 && r.json?.flamegraph)
    return { fg: r.json.flamegraph, how: 'SelectMergeSpanProfile' };
  if (r.status !== 404 && r.status !== 405 && r.status !== 501)
    throw new Error(`SelectMergeSpanProfile answered ${r.status}: ${r.text.slice(0, 300)}`);
  const sel = labelSelector.replace(/\}$/, `,${spanLabel}="${spanId}"}`);
  return {
    fg: await flamegraph(url, profileTypeID, sel, w),
    how: `label selector ${spanLabel}= (SelectMergeSpanProfile answered ${r.status})`,
  };
}

/**
 * Share of the flame graph's total spent in (under) frames whose name matches `re`, counting a
 * nested match once. Levels are Pyroscope's: per node [x delta, total, self, name index].
 */
export function inclusiveShare(fg: FlamegraphAnswer['flamegraph'], re: RegExp): number {
  const total = Number(fg.total);
  if (!(total > 0)) return 0;
  let covered: [number, number][] = [];
  let sum = 0;
  for (const level of fg.levels) {
    let prevEnd = 0;
    const next: [number, number][] = [...covered];
    for (let i = 0; i < level.values.length; i += 4) {
      const x = prevEnd + Number(level.values[i]);
      const t = Number(level.values[i + 1]);
      prevEnd = x + t;
      const name = fg.names[Number(level.values[i + 3])] ?? '';
      if (!re.test(name)) continue;
      if (covered.some(([a, b]) => x >= a && x < b)) continue;
      sum += t;
      next.push([x, x + t]);
    }
    covered = next;
  }
  return sum / total;
}

/** The heaviest frames by inclusive value, for failure messages. */
export function topFrames(fg: FlamegraphAnswer['flamegraph'], n = 8): string {
  const byName = new Map<string, number>();
  for (const level of fg.levels.slice(1)) {
    for (let i = 0; i < level.values.length; i += 4) {
      const name = fg.names[Number(level.values[i + 3])] ?? '?';
      byName.set(name, Math.max(byName.get(name) ?? 0, Number(level.values[i + 1])));
    }
  }
  const total = Number(fg.total) || 1;
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1)}% ${k}`)
    .join('; ');
}

export async function pollUntil<T>(
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<{ value: T | undefined; lastError: unknown }> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return { value: v, lastError };
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) return { value: undefined, lastError };
    await new Promise((r) => setTimeout(r, 1000));
  }
}
