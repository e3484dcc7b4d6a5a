import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this (compiled or source) file's location. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('repoRoot: no package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** ../shared beside the repository (CI lays it there), or EMBER_SHARED_DIR. Fails loudly when absent. */
export function sharedDir(): string {
  const dir = process.env.EMBER_SHARED_DIR ?? resolve(repoRoot(), '../shared');
  if (!existsSync(join(dir, 'fixtures'))) {
    throw new Error(
      `shared fixtures not found at ${dir}: lay ../shared beside the repo or set EMBER_SHARED_DIR`,
    );
  }
  return dir;
}

export function fixturePath(...parts: string[]): string {
  return join(sharedDir(), 'fixtures', ...parts);
}
