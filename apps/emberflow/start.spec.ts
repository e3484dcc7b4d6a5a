import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { repoRoot } from '../../test/support/paths.js';

// `npm start` builds only when the sources changed (scripts/build.mjs): what decides that.

interface BuildModule {
  RECORD: string;
  OUTPUTS: string[];
  sourcesHash(dir: string): string;
  staleReason(dir: string): string | null;
}
const load = async (): Promise<BuildModule> =>
  (await import(pathToFileURL(join(repoRoot(), 'scripts/build.mjs')).href)) as BuildModule;

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ember-build-'));
  for (const [f, text] of [
    ['package.json', '{"name":"x"}'],
    ['apps/emberflow/main.ts', 'export {};'],
    ['ui/src/App.tsx', 'export const a = 1;'],
    ['docs/README.md', 'not an input'],
  ]) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

describe('npm start builds only when the sources changed', () => {
  it('hashes contents: a touched file is no change, an edited or added one is', async () => {
    const b = await load();
    const dir = tree();
    try {
      const h0 = b.sourcesHash(dir);
      utimesSync(join(dir, 'apps/emberflow/main.ts'), new Date(), new Date(2030, 0, 1));
      assert.equal(b.sourcesHash(dir), h0, 'mtime alone');
      writeFileSync(join(dir, 'docs/README.md'), 'edited, but not a build input');
      assert.equal(b.sourcesHash(dir), h0, 'docs are not inputs');
      writeFileSync(join(dir, 'ui/src/App.tsx'), 'export const a = 2;');
      const h1 = b.sourcesHash(dir);
      assert.notEqual(h1, h0, 'an edit');
      writeFileSync(join(dir, 'libs.ts'), '');
      mkdirSync(join(dir, 'libs'));
      writeFileSync(join(dir, 'libs/new.ts'), '');
      assert.notEqual(b.sourcesHash(dir), h1, 'a new file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing output, a missing record or another hash means a build', async () => {
    const b = await load();
    const dir = tree();
    try {
      assert.match(b.staleReason(dir) ?? '', /dist\/apps\/emberflow\/main\.js is missing/);
      for (const o of b.OUTPUTS) {
        mkdirSync(join(dir, o, '..'), { recursive: true });
        writeFileSync(join(dir, o), '');
      }
      assert.match(b.staleReason(dir) ?? '', /no record/);
      writeFileSync(join(dir, b.RECORD), `${b.sourcesHash(dir)}\n`);
      assert.equal(b.staleReason(dir), null);
      writeFileSync(join(dir, 'apps/emberflow/main.ts'), 'export const changed = 1;');
      assert.match(b.staleReason(dir) ?? '', /sources changed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
