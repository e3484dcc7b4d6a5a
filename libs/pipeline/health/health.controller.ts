import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics, Readiness } from '../../observability/index.js';

// /healthz: the process is alive (never calls out). /readyz: every dependency this process
// needs answers and its consumers joined; 503 with the failing checks otherwise. /metrics:
// Prometheus text format.
@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly metrics: Metrics,
  ) {}

  @Get('healthz')
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res() reply: FastifyReply): Promise<void> {
    const r = await this.readiness.evaluate();
    await reply
      .status(r.ok ? 200 : 503)
      .send({ status: r.ok ? 'ready' : 'not ready', checks: r.checks });
  }

  @Get('metrics')
  async metricsText(@Res() reply: FastifyReply): Promise<void> {
    const text = await this.metrics.registry.metrics();
    await reply.status(200).type(this.metrics.registry.contentType).send(text);
  }
}
