// The `name` query parameter of /ingest: `app{k=v,...}` (pyroscope-protocol.md §1.2). This is the
// same state machine as Pyroscope's labelset parser, including its less obvious corners:
//  - a sentinel `{` is appended, so a bare `app` works and a missing `}` drops the last pair;
//  - a `}` that closes a value returns to key state, so `a{x=1}y=2,` still adds y=2;
//  - a `}` met in key state stops parsing; a pending key without `=` is dropped;
//  - `=`, `{` inside a value are literal; there is no escaping; last duplicate wins;
//  - a `__name__` key inside the braces replaces the app name without validation.
import { ProtocolError } from './errors.js';
import { goQuoteRune, goTrimSpace } from './go-compat.js';

/** The reserved key holding the app (service) name. */
export const RESERVED_NAME_LABEL = '__name__';

export interface LabelSet {
  /** the app name (`__name__`), trimmed and validated unless overridden inside the braces */
  serviceName: string;
  /** the labels in first-seen order, last value winning; never contains `__name__` */
  labels: Map<string, string>;
}

/** `[A-Za-z0-9_.]` */
export function isLabelNameCharAllowed(cp: number): boolean {
  return (
    (cp >= 0x61 && cp <= 0x7a) ||
    (cp >= 0x41 && cp <= 0x5a) ||
    (cp >= 0x30 && cp <= 0x39) ||
    cp === 0x5f ||
    cp === 0x2e
  );
}

/** `[A-Za-z0-9_.\-/]` */
export function isServiceNameCharAllowed(cp: number): boolean {
  return cp === 0x2d || cp === 0x2f || isLabelNameCharAllowed(cp);
}

function invalidName(message: string): ProtocolError {
  return new ProtocolError({
    kind: 'invalid_name',
    status: 400,
    code: 'invalid_argument',
    reason: 'invalid_labels',
    message,
  });
}

/** Throws `service name is required` / `invalid service name: <n>: character is not allowed: 'c'`. */
export function validateServiceName(name: string): void {
  if (name.length === 0) throw invalidName('service name is required');
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (!isServiceNameCharAllowed(cp)) {
      throw invalidName(
        `invalid service name: ${name}: character is not allowed: ${goQuoteRune(cp)}`,
      );
    }
  }
}

/** Throws `label name is required` / `invalid label name: <k>: character is not allowed: 'c'`. */
export function validateLabelName(key: string): void {
  if (key.length === 0) throw invalidName('label name is required');
  for (const ch of key) {
    const cp = ch.codePointAt(0)!;
    if (!isLabelNameCharAllowed(cp)) {
      throw invalidName(`invalid label name: ${key}: character is not allowed: ${goQuoteRune(cp)}`);
    }
  }
  if (key === RESERVED_NAME_LABEL) throw invalidName(`label name is reserved: ${key}`);
}

const enum State {
  Name,
  Key,
  Value,
  Done,
}

/**
 * Parses `name` as Pyroscope does. Throws a `ProtocolError` (400, `invalid_labels`) whose message
 * is Pyroscope's without the `name: ` prefix that the /ingest handler adds.
 */
export function parseLabelSet(name: string): LabelSet {
  let state: State = State.Name as State;
  let key = '';
  let value = '';
  let serviceName = '';
  const labels = new Map<string, string>();
  // Iterate code points, as Go's range over a string does.
  for (const ch of name + '{') {
    switch (state) {
      case State.Name:
        if (ch === '{') {
          state = State.Key;
          serviceName = goTrimSpace(value);
          validateServiceName(serviceName);
        } else {
          value += ch;
        }
        break;
      case State.Key:
        if (ch === '}') state = State.Done;
        else if (ch === '=') {
          state = State.Value;
          value = '';
        } else key += ch;
        break;
      case State.Value:
        if (ch === ',' || ch === '}') {
          state = State.Key;
          const k = goTrimSpace(key);
          const v = goTrimSpace(value);
          if (k === RESERVED_NAME_LABEL) serviceName = v;
          else {
            validateLabelName(k);
            labels.set(k, v);
          }
          key = '';
        } else {
          value += ch;
        }
        break;
      case State.Done:
        break;
    }
    if (state === State.Done) break;
  }
  return { serviceName, labels };
}

/**
 * Pyroscope's `Normalized()`: `app{k1=v1,k2=v2}` with keys sorted bytewise. Label names are ASCII,
 * so UTF-16 order equals Go's byte order here.
 */
export function normalizedName(ls: LabelSet): string {
  const keys = [...ls.labels.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return ls.serviceName + '{' + keys.map((k) => `${k}=${ls.labels.get(k)!}`).join(',') + '}';
}
