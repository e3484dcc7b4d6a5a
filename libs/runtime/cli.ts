import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderHelp } from './config-reference.js';

// The entry points' command line. Every setting is an environment variable or a key of the
// EMBER_CONFIG file, so the command line only asks for help or the version; anything else is
// a mistake worth stopping for (a flag that silently did nothing would mislead).

export type CliAction =
  { kind: 'run' } | { kind: 'print'; text: string } | { kind: 'fail'; text: string };

/** What the arguments ask for (argv without node and the script). */
export function parseCli(args: readonly string[], version = emberflowVersion()): CliAction {
  if (args.some((a) => a === '-h' || a === '--help' || a === 'help'))
    return { kind: 'print', text: renderHelp(version) };
  if (args.some((a) => a === '-v' || a === '--version'))
    return { kind: 'print', text: `emberflow ${version}\n` };
  if (args.length > 0)
    return {
      kind: 'fail',
      text: `emberflow: unknown argument ${JSON.stringify(args[0])}; settings are environment variables (EMBER_*) or keys of the EMBER_CONFIG file: see --help\n`,
    };
  return { kind: 'run' };
}

/** package.json's version (the nearest package.json above this file: the source or dist/). */
export function emberflowVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'emberflow') return pkg.version ?? 'unknown';
      } catch {
        // not ours: keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
