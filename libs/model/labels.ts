// Series label sets, Pyroscope's label rules and the "repair instead of reject" policy.
//
// A label set is an array of `{name, value}` pairs. Pyroscope sorts series labels by name, byte
// wise (Go string order, which is Unicode code-point order); `compareStrings` reproduces that, so
// sorted sets here are ordered exactly as Pyroscope orders them (UTF-16 order differs above the
// BMP). Functions never mutate their input arrays unless the name says so.

export interface LabelPair {
  name: string;
  value: string;
}

export const LABEL_METRIC_NAME = '__name__';
export const LABEL_SERVICE_NAME = 'service_name';
export const LABEL_APP_NAME = 'app_name';
export const LABEL_DELTA = '__delta__';
export const LABEL_SESSION_ID = '__session_id__';
export const LABEL_PYROSCOPE_SPY = 'pyroscope_spy';
export const LABEL_PROFILE_ID = 'profile_id';
export const LABEL_SPAN_ID = 'span_id';
export const LABEL_TRACE_ID = 'trace_id';
export const LABEL_PROFILE_NAME = 'profile_name';
/** `pkg/model/labels.go` AttrServiceNameFallback */
export const SERVICE_NAME_FALLBACK = 'unknown_service';

/** Compares by Unicode code point, i.e. the byte order of the UTF-8 encodings (Go's `<`). */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (0xD800-0xDFFF) encode code points above 0xFFFF: they sort after every BMP unit.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}

/** Sorts by name (stable; equal names keep their order). Returns a new array. */
export function sortLabels(labels: readonly LabelPair[]): LabelPair[] {
  return [...labels].sort((x, y) => compareStrings(x.name, y.name));
}

export function getLabel(labels: readonly LabelPair[], name: string): string | undefined {
  for (const l of labels) if (l.name === name) return l.value;
  return undefined;
}

/** Sets (replacing every pair of that name) and returns a new array. */
export function setLabel(labels: readonly LabelPair[], name: string, value: string): LabelPair[] {
  const out = labels.filter((l) => l.name !== name);
  out.push({ name, value });
  return out;
}

export function deleteLabel(labels: readonly LabelPair[], name: string): LabelPair[] {
  return labels.filter((l) => l.name !== name);
}

/** `pkg/model/labels.go` IsLabelAllowedForIngestion: `__`-prefixed names are reserved except `__session_id__`. */
export function isLabelAllowedForIngestion(name: string): boolean {
  return !name.startsWith('__') || name === LABEL_SESSION_ID;
}

/** Renders like Pyroscope's LabelPairsString, for error messages. */
export function labelsString(labels: readonly LabelPair[]): string {
  return '{' + labels.map((l) => `${l.name}="${l.value}"`).join(', ') + '}';
}

/** Identity key of a sorted label set (names and values cannot collide with the separators). */
export function labelsKey(sorted: readonly LabelPair[]): string {
  return sorted.map((l) => `${l.name}\u0000${l.value}`).join('\u0001');
}

// ---------------------------------------------------------------------------------------------
// Repair

export type LabelRepairKind =
  /** a legacy-charset name had dots replaced by underscores (only with `sanitizeNames`) */
  | 'name_sanitized'
  /** an empty or otherwise unusable name: the pair was dropped */
  | 'name_invalid_dropped'
  | 'name_truncated'
  | 'value_truncated'
  /** lone UTF-16 surrogates replaced by U+FFFD (Go would see invalid UTF-8 and reject) */
  | 'value_invalid_utf8'
  /** a second pair with an existing name was dropped (Pyroscope rejects duplicates) */
  | 'duplicate_dropped'
  /** over the label-names limit: the pair was dropped (Pyroscope rejects the series) */
  | 'excess_dropped'
  /** an empty `service_name` replaced by `unknown_service` (Pyroscope adds a second one and rejects) */
  | 'service_name_defaulted';

export interface LabelRepair {
  kind: LabelRepairKind;
  /** the label name as received */
  name: string;
}

export interface LabelRepairOptions {
  /** validation.max-label-names-per-series (30); 0 = unlimited */
  maxLabelNamesPerSeries: number;
  /** validation.max-length-label-name (1024 bytes); 0 = unlimited */
  maxLabelNameLength: number;
  /** validation.max-length-label-value (2048 bytes); 0 = unlimited */
  maxLabelValueLength: number;
  /** legacy Prometheus name sanitisation (dots → underscores); Pyroscope's default is off */
  sanitizeNames: boolean;
}

export interface RepairedLabels {
  labels: LabelPair[];
  repairs: LabelRepair[];
}

/**
 * Whether `s` has no lone UTF-16 surrogate, i.e. encodes to valid UTF-8. V8's own
 * `String.prototype.isWellFormed` (Node >= 20, the engines floor): validation checks every
 * string of a profile, and a charCodeAt loop cost five times as much (0.25 ms of a 260 KB JFR
 * upload's 8.5 ms decode).
 */
export function isWellFormed(s: string): boolean {
  return s.isWellFormed();
}

/** UTF-8 byte length of a well-formed string. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Keeps the first `max` UTF-8 bytes, never splitting a character. */
export function truncateUtf8Head(s: string, max: number): string {
  if (s.length <= max / 3) return s;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? 4 : 3;
    if (n + w > max) return s.slice(0, i);
    n += w;
    if (w === 4) i++;
  }
  return s;
}

/** Keeps the last `max` UTF-8 bytes, never splitting a character (symbol truncation keeps the tail). */
export function truncateUtf8Tail(s: string, max: number): string {
  if (s.length <= max / 3) return s;
  let n = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i);
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xdc00 && c <= 0xdfff ? 4 : 3;
    if (n + w > max) return s.slice(w === 4 ? i + 2 : i + 1);
    n += w;
    if (w === 4) i--;
  }
  return s;
}

/** `SanitizeLegacyLabelName`: `[A-Za-z_][A-Za-z0-9_]*` with dots allowed (then replaced). */
function sanitizeLegacyName(name: string): string | undefined {
  if (name.length === 0) return undefined;
  let dots = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok =
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x41 && c <= 0x5a) ||
      c === 0x5f ||
      (c >= 0x30 && c <= 0x39 && i > 0);
    if (ok) continue;
    if (c === 0x2e) dots = true;
    else return undefined;
  }
  return dots ? name.replaceAll('.', '_') : name;
}

const PROTECTED = new Set([LABEL_METRIC_NAME, LABEL_SERVICE_NAME]);

/**
 * Makes a series label set acceptable to Pyroscope's `ValidateLabels`, repairing what it would
 * reject: empty/invalid names are dropped, over-long names and values truncated (at a UTF-8
 * boundary), lone surrogates replaced, duplicates dropped (the first pair after a stable sort
 * wins), and pairs beyond the label-count limit dropped (never `__name__` or `service_name`).
 * Every repair is reported. Returns the labels sorted by name. A missing or empty `__name__` is
 * not repairable; callers check it (`invalid_labels`).
 */
export function repairLabels(
  labels: readonly LabelPair[],
  opts: LabelRepairOptions,
): RepairedLabels {
  const repairs: LabelRepair[] = [];
  const fixed: LabelPair[] = [];
  for (const l of labels) {
    let name = l.name;
    let value = l.value;
    if (!isWellFormed(name)) {
      repairs.push({ kind: 'name_invalid_dropped', name: l.name });
      continue;
    }
    if (opts.sanitizeNames) {
      const s = sanitizeLegacyName(name);
      if (s === undefined) {
        repairs.push({ kind: 'name_invalid_dropped', name: l.name });
        continue;
      }
      if (s !== name) {
        repairs.push({ kind: 'name_sanitized', name: l.name });
        name = s;
      }
    } else if (name.length === 0) {
      repairs.push({ kind: 'name_invalid_dropped', name: l.name });
      continue;
    }
    if (opts.maxLabelNameLength > 0 && utf8Length(name) > opts.maxLabelNameLength) {
      name = truncateUtf8Head(name, opts.maxLabelNameLength);
      repairs.push({ kind: 'name_truncated', name: l.name });
    }
    if (!isWellFormed(value)) {
      value = value.toWellFormed();
      repairs.push({ kind: 'value_invalid_utf8', name: l.name });
    }
    if (opts.maxLabelValueLength > 0 && utf8Length(value) > opts.maxLabelValueLength) {
      value = truncateUtf8Head(value, opts.maxLabelValueLength);
      repairs.push({ kind: 'value_truncated', name: l.name });
    }
    fixed.push({ name, value });
  }
  const sorted = sortLabels(fixed);
  const deduped: LabelPair[] = [];
  for (const l of sorted) {
    const last = deduped[deduped.length - 1];
    if (last !== undefined && last.name === l.name) {
      repairs.push({ kind: 'duplicate_dropped', name: l.name });
      continue;
    }
    deduped.push(l);
  }
  const max = opts.maxLabelNamesPerSeries;
  if (max > 0 && deduped.length > max) {
    let budget = max - deduped.filter((l) => PROTECTED.has(l.name)).length;
    const kept: LabelPair[] = [];
    for (const l of deduped) {
      if (PROTECTED.has(l.name)) kept.push(l);
      else if (budget > 0) {
        kept.push(l);
        budget--;
      } else repairs.push({ kind: 'excess_dropped', name: l.name });
    }
    return { labels: kept, repairs };
  }
  return { labels: deduped, repairs };
}

/**
 * `limitMaxSessionsPerSeries`: with `max` 0 the `__session_id__` label is removed; otherwise a
 * valid id (16 hex chars, little-endian uint64) is reduced modulo `max` (as Go's signed `int %`),
 * an invalid one removed.
 */
export function limitSessions(labels: readonly LabelPair[], max: number): LabelPair[] {
  const value = getLabel(labels, LABEL_SESSION_ID);
  if (value === undefined) return [...labels];
  if (max <= 0 || !/^[0-9a-fA-F]{16}$/.test(value)) return deleteLabel(labels, LABEL_SESSION_ID);
  let le = 0n;
  for (let i = 7; i >= 0; i--)
    le = (le << 8n) | BigInt(parseInt(value.slice(i * 2, i * 2 + 2), 16));
  const signed = BigInt.asIntN(64, le);
  const reduced = BigInt.asUintN(64, signed % BigInt(max));
  let hex = '';
  for (let i = 0; i < 8; i++)
    hex += Number((reduced >> BigInt(i * 8)) & 0xffn)
      .toString(16)
      .padStart(2, '0');
  return labels.map((l) => (l.name === LABEL_SESSION_ID ? { name: l.name, value: hex } : l));
}

// ---------------------------------------------------------------------------------------------
// Series labels of an /ingest upload (pyroscope-protocol.md §1.6). The three converters of
// Pyroscope differ in how they treat an existing `service_name` label:
//   pprof  (`createLabels`):  keeps it, adds nothing;
//   JFR    (jfr-parser Labels): keeps it, the app name goes to `app_name` (a sent `app_name` then
//          duplicates it: Pyroscope rejects, label repair keeps the sent one);
//   legacy (ingest adapter Put): keeps it, adds `app_name` unless one was sent.
// In all three, `name` labels with a reserved `__` name are dropped (except `__session_id__`).

export interface IngestLabelInput {
  /** `__name__` of the series */
  metric: string;
  /** the app name (legacy: with its type suffix removed) */
  app: string;
  spyName: string;
  /** labels parsed from `name` */
  labels: Readonly<Record<string, string>>;
}

function allowedNameLabels(labels: Readonly<Record<string, string>>): LabelPair[] {
  const out: LabelPair[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (isLabelAllowedForIngestion(name)) out.push({ name, value });
  }
  return out;
}

/** pprof uploads: `__name__`, `__delta__=false`, `pyroscope_spy`, `service_name` unless sent. */
export function pprofIngestLabels(x: IngestLabelInput): LabelPair[] {
  const own = allowedNameLabels(x.labels);
  const out: LabelPair[] = [
    { name: LABEL_METRIC_NAME, value: x.metric },
    { name: LABEL_DELTA, value: 'false' },
    { name: LABEL_PYROSCOPE_SPY, value: x.spyName },
  ];
  if (!Object.hasOwn(x.labels, LABEL_SERVICE_NAME))
    out.push({ name: LABEL_SERVICE_NAME, value: x.app });
  return out.concat(own);
}

/** JFR uploads: as pprof plus `jfr_event`; a sent `service_name` moves the app name to `app_name`. */
export function jfrIngestLabels(x: IngestLabelInput & { jfrEvent: string }): LabelPair[] {
  const own = allowedNameLabels(x.labels);
  const hasServiceName = own.some((l) => l.name === LABEL_SERVICE_NAME);
  return own.concat([
    { name: LABEL_PYROSCOPE_SPY, value: x.spyName },
    { name: LABEL_DELTA, value: 'false' },
    { name: 'jfr_event', value: x.jfrEvent },
    { name: LABEL_METRIC_NAME, value: x.metric },
    { name: hasServiceName ? LABEL_APP_NAME : LABEL_SERVICE_NAME, value: x.app },
  ]);
}

/** Legacy uploads: `pyroscope_spy` only when non-empty; `app_name` added unless one was sent. */
export function legacyIngestLabels(x: IngestLabelInput): LabelPair[] {
  const out: LabelPair[] = [
    { name: LABEL_METRIC_NAME, value: x.metric },
    { name: LABEL_DELTA, value: 'false' },
  ];
  if (x.spyName !== '') out.push({ name: LABEL_PYROSCOPE_SPY, value: x.spyName });
  const own = allowedNameLabels(x.labels);
  out.push(...own);
  if (!own.some((l) => l.name === LABEL_SERVICE_NAME)) {
    out.push({ name: LABEL_SERVICE_NAME, value: x.app });
  } else if (!out.some((l) => l.name === LABEL_APP_NAME)) {
    out.push({ name: LABEL_APP_NAME, value: x.app });
  }
  return out;
}
