import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics, Readiness } from '../../observability/index.js';

// /healthz: the process is alive (never calls out). /readyz: every dependency this process
// needs answers and its consumers joined; 503 with the failing checks otherwise. A ready process
// with a stalled consumed partition answers 200 with status "degraded" and says which partition
// and why (it still serves; an operator must look). /metrics: Prometheus text format.
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
    const status = !r.ok ? 'not ready' : r.degraded ? 'degraded' : 'ready';
    await reply.status(r.ok ? 200 : 503).send({ status, checks: r.checks });
  }

  @Get('metrics')
  async metricsText(@Res() reply: FastifyReply): Promise<void> {
    const text = await this.metrics.registry.metrics();
    await reply.status(200).type(this.metrics.registry.contentType).send(text);
  }
}
