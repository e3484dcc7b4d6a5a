import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileTypeValidator } from '@nestjs/common';
import Fastify from 'fastify';
import semver from 'semver';
import { repoRoot } from '../../test/support/paths.js';

// The README says Node 20.19 and later. Every installed package must agree (npm ci warns
// EBADENGINE otherwise: cookie@2 and file-type@22 wanted Node 22, so package.json's
// `overrides` pin versions that support 20), every package with an install script is either
// approved or denied in `allowScripts` (npm lists the undecided ones), and the overridden
// versions still do their job.

const root = repoRoot();
interface LockPackage {
  version?: string;
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
  dev?: boolean;
  optional?: boolean;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  allowScripts: Record<string, boolean>;
  overrides: Record<string, unknown>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockPackage>;
};
const nameOf = (path: string): string => path.slice(path.lastIndexOf('node_modules/') + 13);

describe('supported Node versions and install scripts', () => {
  it('every locked package runs on the oldest Node the README promises', () => {
    const floor = semver.minVersion(pkg.engines.node);
    assert.ok(floor, pkg.engines.node);
    assert.equal(floor.version, '20.19.0');
    const wrong: string[] = [];
    for (const [path, p] of Object.entries(lock.packages)) {
      if (path === '') continue;
      const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
      if (range && !semver.satisfies(floor, range, { includePrerelease: true }))
        wrong.push(`${nameOf(path)}@${p.version} wants node ${range} (${path})`);
    }
    assert.deepEqual(wrong, []);
  });

  it('allowScripts decides every install script: better-sqlite3 runs, the rest do not', () => {
    const withScripts = new Set(
      Object.entries(lock.packages)
        .filter(([, p]) => p.hasInstallScript)
        .map(([path]) => nameOf(path)),
    );
    const undecided = [...withScripts].filter((n) => !(n in pkg.allowScripts));
    assert.deepEqual(undecided, [], 'add them to allowScripts in package.json (true or false)');
    const approved = Object.entries(pkg.allowScripts)
      .filter(([, v]) => v)
      .map(([k]) => k);
    assert.deepEqual(approved, ['better-sqlite3']);
    const stale = Object.keys(pkg.allowScripts).filter((n) => !withScripts.has(n));
    assert.deepEqual(stale, [], 'allowScripts names packages without install scripts');
  });

  it('Fastify’s inject still sets cookies with the overridden cookie@1', async () => {
    const app = Fastify();
    app.get('/', async (req) => ({ cookie: req.headers.cookie ?? '' }));
    const r = await app.inject({ method: 'GET', url: '/', cookies: { a: 'b c', d: 'e' } });
    assert.deepEqual(r.json(), { cookie: 'a=b%20c; d=e' });
    await app.close();
  });

  it('Nest’s file type validation runs on the overridden file-type@21', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
    const v = new FileTypeValidator({ fileType: 'image/png' });
    // detection by magic number: the claimed type is not what decides
    assert.equal(await v.isValid({ mimetype: 'text/plain', buffer: png } as never), true);
    const text = Buffer.from('just some text, no magic number at all');
    assert.equal(await v.isValid({ mimetype: 'image/png', buffer: text } as never), false);
    assert.deepEqual(Object.keys(pkg.overrides).sort(), ['@nestjs/common', 'light-my-request']);
  });
});
