import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseAuthorization } from '../../protocol/index.js';
import type { EmberConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import { EMBER_CONFIG } from '../core/tokens.js';

// Tenant resolution and inbound credentials, shared by ingest and every read API so a tenant
// never sees another's data. Tenant = X-Scope-OrgID (default `anonymous`, as Pyroscope); with
// EMBER_REQUIRE_TENANT the header is mandatory. A tenant with credentials in the config file
// must present one of them (Basic or Bearer, as the agents send them; the scheme is
// case-insensitive, RFC 9110 §11.1). With `tenancy.closed` only tenants listed in the config
// exist; with `tenancy.requireCredentials` every tenant must present credentials.
//
// Credentials are compared as SHA-256 digests with timingSafeEqual against every configured
// credential of the tenant, without an early exit, so the time taken says nothing about how
// much of a secret matched or which one. They are never logged or echoed back.

export const DEFAULT_TENANT = 'anonymous';
const TENANT_RE = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;

function digest(kind: 'basic' | 'bearer', secret: string): Buffer {
  return createHash('sha256').update(kind).update('\u0000').update(secret).digest();
}

@Injectable()
export class TenantResolver {
  private readonly expected = new Map<string, Buffer[]>();

  constructor(@Inject(EMBER_CONFIG) private readonly config: EmberConfig) {
    for (const [tenant, t] of Object.entries(config.file.tenants)) {
      this.expected.set(
        tenant,
        t.credentials.map((c) =>
          'bearer' in c
            ? digest('bearer', c.bearer)
            : digest('basic', `${c.basic.username}:${c.basic.password}`),
        ),
      );
    }
  }

  /** Returns the tenant of a request or throws HttpFailure 401. */
  resolve(headers: Record<string, string | string[] | undefined>): string {
    const raw = first(headers['x-scope-orgid'])?.trim();
    if (!raw) {
      if (this.config.ingest.requireTenant) {
        throw new HttpFailure(
          401,
          'no org id: set the X-Scope-OrgID header to your tenant id',
          'unauthorized',
        );
      }
      return this.check(DEFAULT_TENANT, headers);
    }
    if (!TENANT_RE.test(raw)) {
      throw new HttpFailure(
        401,
        "invalid X-Scope-OrgID: use up to 150 characters of letters, digits and !-_.*'()",
        'unauthorized',
      );
    }
    return this.check(raw, headers);
  }

  private check(tenant: string, headers: Record<string, string | string[] | undefined>): string {
    const tenancy = this.config.file.tenancy;
    const creds = this.expected.get(tenant);
    if (creds === undefined && tenancy.closed) {
      throw new HttpFailure(
        401,
        `unknown tenant ${tenant}: this collector accepts only the tenants of its configuration (tenancy.closed)`,
        'unauthorized',
      );
    }
    if (!creds || creds.length === 0) {
      if (!tenancy.requireCredentials) return tenant;
      throw new HttpFailure(
        401,
        `tenant ${tenant} has no credentials configured and this collector requires them for every tenant (tenancy.requireCredentials)`,
        'unauthorized',
      );
    }
    const auth = first(headers['authorization']);
    if (!auth) {
      throw new HttpFailure(
        401,
        `tenant ${tenant} requires credentials: send Authorization (Basic or Bearer)`,
        'unauthorized',
      );
    }
    const c = parseAuthorization(auth.trim());
    const given =
      c.scheme === 'bearer'
        ? digest('bearer', c.token)
        : c.scheme === 'basic'
          ? digest('basic', `${c.username}:${c.password}`)
          : undefined;
    let ok = 0;
    for (const e of creds) ok |= given !== undefined && timingSafeEqual(e, given) ? 1 : 0;
    if (ok === 0)
      throw new HttpFailure(401, `invalid credentials for tenant ${tenant}`, 'unauthorized');
    return tenant;
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
