import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { repoRoot } from '../../test/support/paths.js';
import { parseCli } from './cli.js';
import { ENV_VARS, envSchema, fileSchema, loadConfig } from './config.js';
import {
  fileKeys,
  generatedRegions,
  renderEnvTable,
  renderEnvTableShort,
  renderFileTable,
  rewriteGenerated,
} from './config-reference.js';
import { ENV_SETTINGS, FILE_SETTINGS, type EnvVar } from './settings.js';
import { TARGETS } from './targets.js';

// The configuration reference cannot drift from what loadConfig reads: every variable of the
// env schema and every key of the file schema has its entry in settings.ts (and nothing else
// does), documented defaults are the schema's, examples are accepted, and the generated tables
// of README.md and docs/configuration.md are what `npm run docs:config` writes now. Failures
// name the setting and the file to edit.

const root = repoRoot();
const read = (f: string): string => readFileSync(join(root, f), 'utf8');
const parses = (schema: { safeParse(v: unknown): { success: boolean } }, v: unknown): boolean =>
  schema.safeParse(v).success;
const valueOf = (schema: { safeParse(v: unknown): { data?: unknown } }, v: unknown): unknown =>
  schema.safeParse(v).data;

/** problems of a documented set against the schema's set, as sentences naming each key */
function setProblems(schema: string[], documented: string[], where: string): string[] {
  const doc = new Set(documented);
  const have = new Set(schema);
  return [
    ...schema
      .filter((k) => !doc.has(k))
      .map((k) => `${k} is read by config.ts but has no entry in ${where}`),
    ...documented
      .filter((k) => !have.has(k))
      .map((k) => `${k} has an entry in ${where} but config.ts does not read it`),
  ];
}

describe('configuration reference', () => {
  it('documents exactly the environment variables the schema reads', () => {
    assert.deepEqual(
      setProblems(
        [...ENV_VARS],
        Object.keys(ENV_SETTINGS),
        'ENV_SETTINGS (libs/runtime/settings.ts)',
      ),
      [],
    );
  });

  it('states each variable’s default as the schema has it, and examples it accepts', () => {
    const problems: string[] = [];
    for (const name of ENV_VARS) {
      const field = envSchema.shape[name];
      const doc = ENV_SETTINGS[name as EnvVar];
      const schemaDefault = valueOf(field, undefined);
      if (doc.default === null) {
        if (schemaDefault !== undefined)
          problems.push(
            `${name}: documented as unset by default, but the schema defaults to ${JSON.stringify(schemaDefault)}`,
          );
        if (!doc.unset)
          problems.push(`${name}: no default, so settings.ts must say what unset means`);
      } else if (
        !parses(field, doc.default) ||
        !isDeepStrictEqual(valueOf(field, doc.default), schemaDefault)
      ) {
        problems.push(
          `${name}: documented default ${JSON.stringify(doc.default)} reads as ${JSON.stringify(valueOf(field, doc.default))}, the schema's default is ${JSON.stringify(schemaDefault)}`,
        );
      }
      if (!parses(field, doc.example))
        problems.push(`${name}: example ${JSON.stringify(doc.example)} is rejected`);
      if (doc.meaning.trim().length < 8) problems.push(`${name}: no meaning`);
    }
    assert.deepEqual(problems, []);
  });

  it('names the setting a change to the schema leaves undocumented', () => {
    const env = setProblems([...ENV_VARS, 'EMBER_NEW_THING'], Object.keys(ENV_SETTINGS), 'X');
    assert.deepEqual(env, ['EMBER_NEW_THING is read by config.ts but has no entry in X']);
    const wider = fileSchema.extend({
      tracing: z
        .object({ sampleRatio: z.number().min(0).max(1).default(0.1) })
        .default({ sampleRatio: 0.1 }),
    });
    const paths = fileKeys(wider).map((k) => k.path);
    assert.deepEqual(setProblems(paths, Object.keys(FILE_SETTINGS), 'Y'), [
      'tracing is read by config.ts but has no entry in Y',
      'tracing.sampleRatio is read by config.ts but has no entry in Y',
    ]);
    assert.deepEqual(setProblems(['a'], ['a', 'gone'], 'Z'), [
      'gone has an entry in Z but config.ts does not read it',
    ]);
  });

  it('walks every key of the file schema, with defaults from the schema', () => {
    const keys = new Map(fileKeys().map((k) => [k.path, k]));
    // a few known facts of the walk, so a walker that finds nothing cannot pass
    assert.equal(keys.get('limits.ingestionRateBytes')?.default, 4 * 1024 * 1024);
    assert.equal(keys.get('backends.pyroscope[].timeout')?.type, 'duration');
    assert.equal(keys.get('backends.pyroscope[].retry.maxElapsed')?.default, 300_000);
    assert.equal(keys.get('tenants.<name>.credentials[].bearer')?.type, 'string');
    assert.equal(keys.get('sampleRelabel')?.sameAs, 'relabel');
    assert.equal(keys.get('tenants.<name>.limits.maxProfileBytes')?.default, undefined);
    assert.ok(keys.size > 50, `${keys.size} keys`);
    // every top-level key of the schema is walked
    for (const k of Object.keys(fileSchema.shape)) assert.ok(keys.has(k), k);
  });

  it('documents exactly the keys of the EMBER_CONFIG file', () => {
    assert.deepEqual(
      setProblems(
        fileKeys().map((k) => k.path),
        Object.keys(FILE_SETTINGS),
        'FILE_SETTINGS (libs/runtime/settings.ts)',
      ),
      [],
    );
  });

  it('gives every file key a meaning, and every value key an example its schema accepts', () => {
    const problems: string[] = [];
    for (const k of fileKeys()) {
      const doc = FILE_SETTINGS[k.path];
      if (!doc) continue; // reported by the test above
      if (doc.meaning.trim().length < 8) problems.push(`${k.path}: no meaning`);
      if (doc.example === undefined) {
        if (k.type !== 'section') problems.push(`${k.path}: no example`);
      } else if (!parses(k.schema, doc.example))
        problems.push(
          `${k.path}: example ${JSON.stringify(doc.example)} is rejected by its schema`,
        );
    }
    assert.deepEqual(problems, []);
  });

  for (const file of ['README.md', 'docs/configuration.md'])
    it(`${file}: its generated tables are current (npm run docs:config)`, () => {
      const text = read(file);
      const regions = generatedRegions(text);
      assert.ok(regions.length > 0, `${file} marks no generated region`);
      if (rewriteGenerated(text) === text) return;
      const rendered = [renderEnvTableShort(), renderEnvTable(), renderFileTable()].join('\n');
      const missing = [...ENV_VARS, ...fileKeys().map((k) => k.path)].filter(
        (n) => rendered.includes(`\`${n}\``) && !text.includes(`\`${n}\``),
      );
      assert.fail(
        `${file} is out of date with libs/runtime/settings.ts and config.ts: run \`npm run docs:config\`${
          missing.length > 0 ? ` (it lacks ${missing.join(', ')})` : ''
        }`,
      );
    });

  it('README.md lists every variable, docs/configuration.md every variable and file key', () => {
    const readme = read('README.md');
    const reference = read('docs/configuration.md');
    assert.deepEqual(generatedRegions(readme), ['env-table-short']);
    assert.deepEqual(generatedRegions(reference), ['env-table', 'file-table']);
    for (const n of ENV_VARS) {
      assert.ok(readme.includes(`| \`${n}\` |`), `README.md's table lacks ${n}`);
      assert.ok(reference.includes(`| \`${n}\` |`), `docs/configuration.md lacks ${n}`);
    }
    for (const k of fileKeys())
      assert.ok(reference.includes(`| \`${k.path}\` |`), `docs/configuration.md lacks ${k.path}`);
    // a Datakit user finds their tags
    assert.match(reference, /\[inputs\.pyroscope\.tags\][^\n]*\|[^\n]*globalTags/);
  });

  it('the annotated example file is valid, covers every section and explains itself', () => {
    const path = join(root, 'docs/emberflow.example.yaml');
    const c = loadConfig({ EMBER_CONFIG: path });
    const raw = parseYaml(read('docs/emberflow.example.yaml')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(raw).sort(), Object.keys(fileSchema.shape).sort());
    assert.ok(c.file.tenants.shop.credentials.length > 0);
    assert.equal(c.backends.pyroscope[0].name, 'central');
    const comments = read('docs/emberflow.example.yaml')
      .split('\n')
      .filter((l) => l.trim().startsWith('#'));
    assert.ok(comments.length > 30, `${comments.length} comment lines`);
  });

  it('--help prints the targets, every variable and every file key with defaults', () => {
    const help = parseCli(['--help'], '9.9.9');
    assert.equal(help.kind, 'print');
    const text = help.kind === 'print' ? help.text : '';
    assert.match(text, /^Emberflow 9\.9\.9/);
    for (const t of ['all', ...TARGETS]) assert.match(text, new RegExp(`^  ${t} `, 'm'));
    for (const n of ENV_VARS) assert.ok(text.includes(`  ${n} [`), `--help lacks ${n}`);
    assert.ok(text.includes('  EMBER_HTTP_PORT [9529]'));
    assert.ok(text.includes('  EMBER_SHUTDOWN_TIMEOUT [30s]'));
    for (const k of fileKeys())
      assert.ok(text.includes(`  ${k.path}  (`), `--help lacks ${k.path}`);
    assert.ok(text.includes('limits.ingestionRateBytes  (integer, ≥ 0, default 4194304 (4 MiB))'));
    assert.deepEqual(parseCli(['-h'], 'x').kind, 'print');
    assert.deepEqual(parseCli(['--version'], '9.9.9'), {
      kind: 'print',
      text: 'emberflow 9.9.9\n',
    });
    assert.deepEqual(parseCli([], 'x'), { kind: 'run' });
    const bad = parseCli(['--port=80'], 'x');
    assert.equal(bad.kind, 'fail');
    assert.match(bad.kind === 'fail' ? bad.text : '', /unknown argument "--port=80".*--help/);
  });
});
