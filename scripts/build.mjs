#!/usr/bin/env node
// The build, and the record of what it was built from.
//   node scripts/build.mjs               build (tsc + the web UI), always (`npm run build`)
//   node scripts/build.mjs --if-changed  build only when the sources differ from the last build
// The record (dist/.build-sources) is a SHA-256 over the paths and contents of every input of
// the build: apps/, libs/, ui/, test/, bench/, scripts/, the tsconfigs, package.json and
// package-lock.json (an `npm ci` that changes dependencies rebuilds). It is computed before the
// build starts, so an edit made while tsc runs is picked up by the next start. Contents, not
// modification times: a `git checkout` that touches files without changing them rebuilds nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** relative to the repository: the record of what dist/ was built from */
export const RECORD = join('dist', '.build-sources');
const INPUT_DIRS = ['apps', 'libs', 'ui', 'test', 'bench', 'scripts'];
const INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'ui/tsconfig.json',
  'ui/tsconfig.spec.json',
];
/** what the build writes and must exist for `npm start` */
export const OUTPUTS = ['dist/apps/emberflow/main.js', 'dist/ui/index.html'];
const SKIP = new Set(['node_modules', 'dist', '.cache', 'artifacts']);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (SKIP.has(e.name) || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** SHA-256 over the build's inputs under `dir` (sorted relative paths and their bytes). */
export function sourcesHash(dir = root) {
  const files = [
    ...INPUT_DIRS.flatMap((d) => walk(join(dir, d), [])),
    ...INPUT_FILES.map((f) => join(dir, f)).filter((f) => existsSync(f)),
  ]
    .map((f) => relative(dir, f))
    .sort();
  const h = createHash('sha256');
  for (const f of [...new Set(files)]) {
    h.update(f);
    h.update('\0');
    h.update(readFileSync(join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Why a build is needed, or null when `dir`/dist is the build of the current sources. */
export function staleReason(dir = root, hash = sourcesHash(dir)) {
  const missing = OUTPUTS.find((o) => !existsSync(join(dir, o)));
  if (missing) return `${missing} is missing`;
  const record = join(dir, RECORD);
  if (!existsSync(record)) return 'dist/ has no record of its sources';
  if (readFileSync(record, 'utf8').trim() !== hash)
    return 'the sources changed since the last build';
  return null;
}

/** Runs the build; returns its exit status. Writes the record only after a build that passed. */
export function build() {
  const hash = sourcesHash();
  rmSync(join(root, RECORD), { force: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  for (const script of ['build:ts', 'build:ui']) {
    const r = spawnSync(npm, ['run', '--silent', script], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) return r.status ?? 1;
  }
  writeFileSync(join(root, RECORD), `${hash}\n`);
  return 0;
}

/** Builds when needed (saying why on stderr); returns the exit status (0: dist/ is current). */
export function buildIfChanged() {
  const reason = staleReason();
  if (reason === null) return 0;
  const t0 = Date.now();
  process.stderr.write(`build: ${reason}; building (tsc and the web UI)\n`);
  const status = build();
  if (status === 0)
    process.stderr.write(`build: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return status;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const status = process.argv.includes('--if-changed') ? buildIfChanged() : build();
  process.exit(status);
}
