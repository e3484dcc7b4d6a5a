#!/usr/bin/env node
// `npm start`: runs Emberflow from the build, building first only when there is no build of the
// current sources (scripts/build.mjs records what dist/ was built from). The entry point runs in
// this process (no child to forward signals to): Ctrl-C and SIGTERM reach its own handlers.
// Arguments pass through: `npm start -- --help`.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildIfChanged, root } from './build.mjs';

const status = buildIfChanged();
if (status !== 0) {
  process.stderr.write(`start: the build failed (exit ${status}); not starting\n`);
  process.exit(status);
}
// `npm start` killed by a signal (a service manager, a script's `kill`) exits without passing the
// signal on: when the parent goes, this process shuts down as if it had received SIGTERM.
if (process.env.npm_lifecycle_event === 'start') {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  watch.unref();
}
// what `node --enable-source-maps` would do: stack traces name the TypeScript sources
process.setSourceMapsEnabled(true);
await import(pathToFileURL(join(root, 'dist/apps/emberflow/main.js')).href);
