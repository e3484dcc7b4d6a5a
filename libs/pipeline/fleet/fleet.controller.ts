import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpFailure, errorBody } from '../core/http-error.js';
import { TenantResolver } from '../tenancy/tenant-resolver.js';
import { FleetRecorder } from './fleet.recorder.js';

// GET /api/v1/fleet: the caller's tenant's agents (X-Scope-OrgID and credentials as for ingest);
// another tenant's agents are never listed.
@Controller('api/v1/fleet')
export class FleetController {
  constructor(
    private readonly fleet: FleetRecorder,
    private readonly tenants: TenantResolver,
  ) {}

  @Get()
  async list(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    try {
      const tenant = this.tenants.resolve(req.headers);
      const agents = await this.fleet.list(tenant);
      return { tenant, agents };
    } catch (err) {
      const f =
        err instanceof HttpFailure ? err : new HttpFailure(503, (err as Error).message, 'unknown');
      reply.status(f.status).headers(f.headers);
      return errorBody(f.status, f.message, f.code);
    }
  }
}
