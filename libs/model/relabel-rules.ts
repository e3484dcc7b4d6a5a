import { createHash } from 'node:crypto';
import type { LabelPair } from './labels.js';
import { compileLabelRegex, type LabelRegex, type LabelRegexMatch } from './label-regex.js';

// Prometheus-style relabelling, as users know it from Prometheus, Alloy and Pyroscope: each rule
// reads `sourceLabels` joined by `separator`, matches the fully anchored `regex` (RE2 syntax and
// linear-time matching, label-regex.ts), and acts.
// Applied to series labels and to sample labels. `compileRelabelRules` validates once (at boot,
// through the config schema) and returns rules that never throw while applied.

export type RelabelAction =
  'replace' | 'keep' | 'drop' | 'labeldrop' | 'labelkeep' | 'hashmod' | 'labelmap';

export interface RelabelRuleConfig {
  action?: RelabelAction;
  sourceLabels?: string[];
  separator?: string;
  regex?: string;
  targetLabel?: string;
  replacement?: string;
  modulus?: number;
}

export interface RelabelRule {
  action: RelabelAction;
  sourceLabels: string[];
  separator: string;
  regex: LabelRegex;
  targetLabel: string;
  replacement: string;
  modulus: number;
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Validates and compiles rules; throws Error listing every problem (with the rule's index). */
export function compileRelabelRules(
  configs: readonly RelabelRuleConfig[],
  where = 'relabel',
): RelabelRule[] {
  const problems: string[] = [];
  const rules = configs.map((c, i): RelabelRule => {
    const action = c.action ?? 'replace';
    const at = `${where}[${i}] (${action})`;
    let regex = compileLabelRegex('(.*)');
    try {
      regex = compileLabelRegex(c.regex ?? '(.*)');
    } catch (err) {
      problems.push(`${at}: ${(err as Error).message}`);
    }
    const r: RelabelRule = {
      action,
      sourceLabels: c.sourceLabels ?? [],
      separator: c.separator ?? ';',
      regex,
      targetLabel: c.targetLabel ?? '',
      replacement: c.replacement ?? '$1',
      modulus: c.modulus ?? 0,
    };
    if ((action === 'replace' || action === 'hashmod') && r.targetLabel === '') {
      problems.push(`${at}: targetLabel is required`);
    }
    if (action === 'hashmod' && !(r.modulus > 0))
      problems.push(`${at}: modulus must be a positive integer`);
    if (
      (action === 'keep' || action === 'drop' || action === 'hashmod') &&
      r.sourceLabels.length === 0
    ) {
      problems.push(`${at}: sourceLabels is required`);
    }
    if (r.targetLabel !== '' && !r.targetLabel.includes('$') && !LABEL_NAME.test(r.targetLabel)) {
      problems.push(`${at}: targetLabel "${r.targetLabel}" is not a valid label name`);
    }
    return r;
  });
  if (problems.length > 0) throw new Error(problems.join('; '));
  return rules;
}

/**
 * Expands a replacement as Go's Regexp.Expand does (Prometheus relabelling): `$$` is a `$`;
 * `$1`, `${1}`, `$name`, `${name}` are groups, a bare name taking the longest run of letters,
 * digits and `_` (so `$1x` names group "1x"); a missing group is empty.
 */
function expand(template: string, m: LabelRegexMatch): string {
  return template.replace(
    /\$(?:(\$)|\{(\w+)\}|(\w+))/g,
    (whole, dollar: string | undefined, braced: string | undefined, bare: string | undefined) => {
      if (dollar) return '$';
      const key = braced ?? bare;
      if (key === undefined) return whole;
      if (/^\d+$/.test(key)) return m.groups[Number(key)] ?? '';
      return Object.hasOwn(m.named, key) ? m.named[key] : '';
    },
  );
}

function hashMod(value: string, modulus: number): number {
  // Prometheus takes the low 8 bytes of the MD5 sum as a big-endian uint64
  const d = createHash('md5').update(value).digest();
  return Number(d.readBigUInt64BE(8) % BigInt(modulus));
}

/**
 * Applies rules in order. Returns the new label set, or null when a keep/drop rule dropped it.
 * A label set to an empty value is removed, as in Prometheus.
 */
export function applyRelabelRules(
  labels: readonly LabelPair[],
  rules: readonly RelabelRule[],
): LabelPair[] | null {
  if (rules.length === 0) return [...labels];
  const map = new Map<string, string>();
  for (const l of labels) map.set(l.name, l.value);
  for (const r of rules) {
    const value = r.sourceLabels.map((n) => map.get(n) ?? '').join(r.separator);
    switch (r.action) {
      case 'drop':
        if (r.regex.test(value)) return null;
        break;
      case 'keep':
        if (!r.regex.test(value)) return null;
        break;
      case 'replace': {
        const m = r.regex.exec(value);
        if (!m) break;
        const target = expand(r.targetLabel, m);
        const v = expand(r.replacement, m);
        if (!LABEL_NAME.test(target)) break;
        if (v === '') map.delete(target);
        else map.set(target, v);
        break;
      }
      case 'hashmod':
        map.set(r.targetLabel, String(hashMod(value, r.modulus)));
        break;
      case 'labeldrop':
        for (const name of [...map.keys()]) if (r.regex.test(name)) map.delete(name);
        break;
      case 'labelkeep':
        for (const name of [...map.keys()]) if (!r.regex.test(name)) map.delete(name);
        break;
      case 'labelmap':
        for (const [name, v] of [...map]) {
          const m = r.regex.exec(name);
          if (m) map.set(expand(r.replacement, m), v);
        }
        break;
    }
  }
  return [...map].map(([name, value]) => ({ name, value }));
}
