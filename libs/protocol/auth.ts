// The Authorization header as Pyroscope agents send it (pyroscope-protocol.md §1.8): Basic
// (Grafana Cloud: user = stack id, password = token) or Bearer (legacy auth token). Pyroscope
// itself never checks it; Emberflow may, so this only parses. Parsing follows Go's
// `Request.BasicAuth`: case-insensitive scheme, standard base64, split at the first `:`.
import { ProtocolError } from './errors.js';

export type Credentials =
  | { scheme: 'none' }
  | { scheme: 'basic'; username: string; password: string }
  | { scheme: 'bearer'; token: string }
  | { scheme: 'invalid'; reason: string };

/** Go's `base64.StdEncoding.DecodeString`: padded standard alphabet (CR/LF are skipped by Go). */
function stdBase64Decode(s: string): Buffer | undefined {
  s = s.replace(/[\r\n]/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** Parses one Authorization header value; absent/empty → `none`; never throws. */
export function parseAuthorization(header: string | null | undefined): Credentials {
  if (header === undefined || header === null || header === '') return { scheme: 'none' };
  const sp = header.indexOf(' ');
  const scheme = (sp === -1 ? header : header.slice(0, sp)).toLowerCase();
  const rest = sp === -1 ? '' : header.slice(sp + 1);
  if (scheme === 'basic') {
    const raw = stdBase64Decode(rest);
    if (raw === undefined) return { scheme: 'invalid', reason: 'malformed basic credentials' };
    const text = raw.toString('utf8');
    const colon = text.indexOf(':');
    if (colon === -1) return { scheme: 'invalid', reason: 'basic credentials without ":"' };
    return { scheme: 'basic', username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (scheme === 'bearer') {
    const token = rest.trim();
    if (token === '') return { scheme: 'invalid', reason: 'empty bearer token' };
    return { scheme: 'bearer', token };
  }
  return { scheme: 'invalid', reason: `unsupported authorization scheme` };
}

/** Builds the header an agent would send, for tests and for forwarding to Pyroscope. */
export function basicAuthorization(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/** The tenant Pyroscope assumes when multitenancy is off. */
export const DEFAULT_TENANT_ID = 'anonymous';

/**
 * The tenant of a request as Pyroscope resolves it (`X-Scope-OrgID`, dskit rules). With
 * multitenancy off the header is ignored and the tenant is `anonymous`. With it on, a missing
 * header is 401 `no org id`; an invalid id is 401 with dskit's message (`tenant ID 'a b' contains
 * unsupported character ' '`, `tenant ID is too long: max 150 characters`, `tenant ID is '.' or
 * '..'`, `multiple org IDs present`).
 */
export function resolveTenant(
  orgIdHeader: string | null | undefined,
  opts: { multitenancy: boolean },
): string {
  if (!opts.multitenancy) return DEFAULT_TENANT_ID;
  const id = orgIdHeader ?? '';
  const fail = (message: string) =>
    new ProtocolError({
      kind: 'unauthenticated',
      status: 401,
      code: 'unauthenticated',
      reason: 'unknown',
      message,
    });
  if (id === '') throw fail('no org id');
  if (id.includes('|')) throw fail('multiple org IDs present');
  const bytes = Buffer.from(id, 'utf8');
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (!/[A-Za-z0-9!\-_.*'()]/.test(c)) {
      throw fail(`tenant ID '${id}' contains unsupported character '${c}'`);
    }
  }
  if (bytes.length > 150) throw fail('tenant ID is too long: max 150 characters');
  if (id === '.' || id === '..') throw fail("tenant ID is '.' or '..'");
  return id;
}
