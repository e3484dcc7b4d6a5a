import type { z } from 'zod';
import { ENV_VARS, fileSchema } from './config.js';
import {
  ENV_SETTINGS,
  FILE_SETTINGS,
  TARGET_DOCS,
  type EnvSetting,
  type EnvVar,
} from './settings.js';
import { TARGETS } from './targets.js';

// The configuration reference, rendered from the schemas (config.ts: names, types, defaults)
// and settings.ts (meanings, examples): `--help`, the README's variable table and the
// generated parts of docs/configuration.md. The walk of the file schema is what the spec checks
// settings.ts against, so a key added to the schema without an entry fails with its path.

type Schema = z.ZodType;
/** zod 4's definition object, read structurally: only the fields this walk needs. */
interface Def {
  type: string;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  valueType?: Schema;
  element?: Schema;
  options?: Schema[];
  in?: Schema;
  entries?: Record<string, string>;
  checks?: {
    _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } };
  }[];
}
const defOf = (s: Schema): Def => (s as unknown as { def: Def }).def;

export interface FileKey {
  /** `a.b` a field, `a.<name>` any key of a map, `a[]` an item of a list */
  path: string;
  /** human type: "integer ≥ 0", "duration", "map of string", "section", ... */
  type: string;
  /** what the schema gives when the key is left out (undefined: nothing) */
  default: unknown;
  /** a list of items of the same shape as the list at this path (documented there) */
  sameAs?: string;
  schema: Schema;
}

/** Strips optional/default/pipe wrappers (a pipe's input is what the user writes). */
function unwrap(s: Schema): Schema {
  let cur = s;
  for (;;) {
    const d = defOf(cur);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable') && d.innerType)
      cur = d.innerType;
    else if (d.type === 'pipe' && d.in) cur = d.in;
    else return cur;
  }
}

function isDuration(s: Schema): boolean {
  const d = defOf(unwrap(s));
  if (d.type !== 'union' || !d.options) return false;
  const kinds = d.options.map((o) => defOf(unwrap(o)).type);
  return kinds.includes('number') && kinds.includes('string');
}

function typeOf(s: Schema, plural = false): string {
  if (isDuration(s)) return plural ? 'durations' : 'duration';
  const inner = unwrap(s);
  const d = defOf(inner);
  switch (d.type) {
    case 'string':
      return (inner as unknown as { format?: string }).format === 'url'
        ? plural
          ? 'URLs'
          : 'URL'
        : plural
          ? 'strings'
          : 'string';
    case 'boolean':
      return plural ? 'booleans' : 'boolean';
    case 'enum':
      return `one of ${Object.values(d.entries ?? {}).join(', ')}`;
    case 'number': {
      let min = '';
      let max = '';
      let int = false;
      for (const c of d.checks ?? []) {
        const cd = c._zod.def;
        if (cd.check === 'number_format' && /int/.test(cd.format ?? '')) int = true;
        if (cd.check === 'greater_than') min = `${cd.inclusive ? '≥' : '>'} ${cd.value}`;
        if (cd.check === 'less_than') max = `${cd.inclusive ? '≤' : '<'} ${cd.value}`;
      }
      const base = int ? (plural ? 'integers' : 'integer') : plural ? 'numbers' : 'number';
      return [base, min, max].filter(Boolean).join(', ');
    }
    case 'record':
      return `map of ${typeOf(d.valueType!, true)}`;
    case 'array':
      return `list of ${typeOf(d.element!, true)}`;
    case 'object':
    case 'union':
      return plural ? 'objects' : 'section';
    default:
      return d.type;
  }
}

function defaultOf(s: Schema): unknown {
  const r = (
    s as unknown as { safeParse(v: unknown): { success: boolean; data?: unknown } }
  ).safeParse(undefined);
  return r.success ? r.data : undefined;
}

/** Every key of the EMBER_CONFIG file, in schema order. */
export function fileKeys(root: Schema = fileSchema): FileKey[] {
  const out: FileKey[] = [];
  const seenItems = new Map<Schema, string>();
  const visit = (s: Schema, path: string): void => {
    const inner = unwrap(s);
    const d = defOf(inner);
    if (path) out.push({ path, type: typeOf(s), default: defaultOf(s), schema: s });
    if (d.type === 'object') {
      for (const [k, v] of Object.entries(d.shape ?? {})) visit(v, path ? `${path}.${k}` : k);
    } else if (d.type === 'record') {
      const v = unwrap(d.valueType!);
      if (['object', 'union'].includes(defOf(v).type)) visit(d.valueType!, `${path}.<name>`);
    } else if (d.type === 'array') {
      const item = unwrap(d.element!);
      if (!['object', 'union'].includes(defOf(item).type)) return;
      const first = seenItems.get(item);
      if (first !== undefined) {
        out[out.length - 1].sameAs = first;
        return;
      }
      seenItems.set(item, path);
      // the list's entry stands for its items: their fields are `path[].field`
      fields(item, `${path}[]`);
    } else if (d.type === 'union') {
      fields(inner, path);
    }
  };
  // an item or a union of objects: the fields of every form, each once
  const fields = (s: Schema, prefix: string): void => {
    const d = defOf(unwrap(s));
    const forms = d.type === 'union' ? (d.options ?? []) : [s];
    for (const form of forms) {
      const fd = defOf(unwrap(form));
      if (fd.type !== 'object') continue;
      for (const [k, v] of Object.entries(fd.shape ?? {})) {
        const p = `${prefix}.${k}`;
        if (!out.some((o) => o.path === p)) visit(v, p);
      }
    }
  };
  visit(root, '');
  return out;
}

// ----------------------------------------------------------------------------- formatting

const KiB = 1024;
const MiB = KiB * 1024;
const GiB = MiB * 1024;

function bytesHint(n: number): string {
  for (const [unit, size] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const)
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return '';
}

function durationText(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A file key's default as YAML would spell it ("4194304 (4 MiB)", "30s", "[]"). */
export function fileDefaultText(k: FileKey): string {
  const v = k.default;
  if (v === undefined) return '';
  if (k.type === 'section' || (typeof v === 'object' && v !== null && !Array.isArray(v)))
    return Object.keys(v as object).length === 0 ? '{}' : '';
  if (typeof v === 'number') {
    if (k.type === 'duration') return durationText(v);
    const hint = /bytes/i.test(k.path) ? bytesHint(v) : '';
    return hint ? `${v} (${hint})` : String(v);
  }
  return JSON.stringify(v);
}

/** An env var's default or what unset means. */
export function envDefaultText(name: EnvVar): string {
  const s: EnvSetting = ENV_SETTINGS[name];
  if (s.default === null) return `unset: ${s.unset ?? 'off'}`;
  if (s.default === '') return 'empty';
  const n = Number(s.default);
  const hint = /BYTES|THRESHOLD/.test(name) && Number.isFinite(n) ? bytesHint(n) : '';
  return hint ? `${s.default} (${hint})` : s.default;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => (s === '' ? '' : `\`${s}\``);
const yamlInline = (v: unknown): string =>
  typeof v === 'string' ? (/^[\w./:-]+$/.test(v) ? v : JSON.stringify(v)) : JSON.stringify(v);

/** The README's table: every variable, its default and meaning. */
export function renderEnvTableShort(): string {
  const rows = ENV_VARS.map(
    (n) => `| \`${n}\` | ${cell(envDefaultText(n))} | ${cell(ENV_SETTINGS[n].meaning)} |`,
  );
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** docs/configuration.md's table: with an example of each. */
export function renderEnvTable(): string {
  const rows = ENV_VARS.map(
    (n) =>
      `| \`${n}\` | ${cell(envDefaultText(n))} | ${cell(ENV_SETTINGS[n].meaning)} | ${code(
        ENV_SETTINGS[n].example,
      )} |`,
  );
  return ['| variable | default | meaning | example |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}

/** docs/configuration.md's file reference: every key, type, default, meaning and example. */
export function renderFileTable(): string {
  const rows = fileKeys().map((k) => {
    const doc = FILE_SETTINGS[k.path];
    const meaning = k.sameAs
      ? `${doc?.meaning ?? ''} (items as in \`${k.sameAs}\`)`
      : (doc?.meaning ?? '');
    const example = doc?.example === undefined ? '' : code(yamlInline(doc.example));
    return `| \`${k.path}\` | ${cell(k.type)} | ${cell(code(fileDefaultText(k)))} | ${cell(
      meaning,
    )} | ${cell(example)} |`;
  });
  return [
    '| key | type | default | meaning | example |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l)).join('\n');
}

/** What `--help` prints: usage, the targets, every variable and every file key with defaults. */
export function renderHelp(version: string): string {
  const plain = (s: string): string => s.replace(/`/g, '');
  const out: string[] = [
    `Emberflow ${version}: a collector for continuous-profiling data. Grafana Pyroscope agents`,
    'upload to it; it normalises every format to pprof series and delivers them to an embedded',
    'store (with a web UI at /) and to Grafana Pyroscope servers.',
    '',
    'Usage:',
    '  npm start [-- --help]                       build if the sources changed, then run',
    '  node dist/apps/emberflow/main.js [options]  run the targets of EMBER_TARGETS',
    '  node dist/apps/<target>/main.js [options]   run one target (ingest, decoder, exporter)',
    '',
    'Options:',
    '  -h, --help     print this and exit',
    '  -v, --version  print the version and exit',
    '',
    'Every setting is an environment variable (below) or a key of the YAML file that',
    'EMBER_CONFIG names (further below). Both are validated at boot; a bad value stops the',
    'process with every problem listed. Empty values count as unset.',
    '',
    'Targets (EMBER_TARGETS):',
  ];
  for (const t of ['all', ...TARGETS] as const) out.push(`  ${t.padEnd(9)}  ${TARGET_DOCS[t]}`);
  out.push('', 'Environment (default in brackets):');
  for (const n of ENV_VARS) {
    const s = ENV_SETTINGS[n];
    out.push(`  ${n} [${plain(envDefaultText(n))}]`);
    out.push(`      ${wrap(plain(s.meaning), 90, '      ')}`);
  }
  out.push('', 'EMBER_CONFIG file keys (type, default):');
  for (const k of fileKeys()) {
    const d = fileDefaultText(k);
    out.push(`  ${k.path}  (${k.type}${d ? `, default ${d}` : ''})`);
  }
  out.push(
    '',
    'Each setting with its meaning and an example, an annotated example file and the Datakit',
    'mapping: docs/configuration.md.',
  );
  return out.join('\n') + '\n';
}

/** Marked regions of a Markdown file that `npm run docs:config` rewrites. */
export const GENERATED = {
  'env-table-short': renderEnvTableShort,
  'env-table': renderEnvTable,
  'file-table': renderFileTable,
} as const;
export type GeneratedRegion = keyof typeof GENERATED;

const regionRe = (name: string): RegExp =>
  new RegExp(`(<!-- generated:${name} [^>]*-->)([\\s\\S]*?)(<!-- /generated:${name} -->)`, 'g');

/** The text with every marked region replaced by its current rendering. */
export function rewriteGenerated(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(GENERATED))
    out = out.replace(regionRe(name), (_m, open: string, _body, close: string) =>
      [open, render(), close].join('\n'),
    );
  return out;
}

/** The regions a Markdown text marks. */
export function generatedRegions(text: string): GeneratedRegion[] {
  return (Object.keys(GENERATED) as GeneratedRegion[]).filter((n) => regionRe(n).test(text));
}
