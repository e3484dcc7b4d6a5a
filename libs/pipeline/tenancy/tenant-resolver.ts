import { Inject, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { EmberConfig } from '../../runtime/config.js';
import { HttpFailure } from '../core/http-error.js';
import { EMBER_CONFIG } from '../core/tokens.js';

// Tenant resolution and inbound credentials, shared by ingest and every read API so a tenant
// never sees another's data. Tenant = X-Scope-OrgID (default `anonymous`, as Pyroscope); with
// EMBER_REQUIRE_TENANT the header is mandatory. A tenant with credentials in the config file
// must present one of them (Basic or Bearer, as the agents send them). Credentials are never
// logged or echoed back.

export const DEFAULT_TENANT = 'anonymous';
const TENANT_RE = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;

@Injectable()
export class TenantResolver {
  private readonly expected = new Map<string, Buffer[]>();

  constructor(@Inject(EMBER_CONFIG) private readonly config: EmberConfig) {
    for (const [tenant, t] of Object.entries(config.file.tenants)) {
      this.expected.set(
        tenant,
        t.credentials.map((c) =>
          Buffer.from(
            'bearer' in c
              ? `Bearer ${c.bearer}`
              : `Basic ${Buffer.from(`${c.basic.username}:${c.basic.password}`).toString('base64')}`,
          ),
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
    const creds = this.expected.get(tenant);
    if (!creds || creds.length === 0) return tenant;
    const auth = first(headers['authorization']);
    if (!auth) {
      throw new HttpFailure(
        401,
        `tenant ${tenant} requires credentials: send Authorization (Basic or Bearer)`,
        'unauthorized',
      );
    }
    const given = Buffer.from(auth.trim());
    const ok = creds.some((c) => c.length === given.length && timingSafeEqual(c, given));
    if (!ok) throw new HttpFailure(401, `invalid credentials for tenant ${tenant}`, 'unauthorized');
    return tenant;
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
