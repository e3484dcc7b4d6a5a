// The Authorization header as Pyroscope agents send it (pyroscope-protocol.md §1.8): Basic
// (Grafana Cloud: user = stack id, password = token) or Bearer (legacy auth token). Pyroscope
// itself never checks it; Emberflow may, so this only parses. Parsing follows Go's
// `Request.BasicAuth`: case-insensitive scheme, strict standard base64, split at the first `:`.

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
