// The HTTP floor of the end-to-end benchmark: a server of the same framework as ingest, set up
// the same way (Fastify with every body read as raw bytes up to the same limit; with `nest`,
// NestJS on that Fastify adapter with one controller), that accepts the same uploads and
// answers 200 without doing anything else. What it costs per upload is what the framework
// costs; Emberflow's figures read as ratios to it.
//
//   node dist/bench/e2e/floor-http.js <fastify|nest> <port>
// prints `listening <port>` when ready; GET /loop answers the event-loop delay p99 (ms) since
// the previous GET /loop.
import 'reflect-metadata';
import { All, Controller, Get, Module, Req, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const BODY_LIMIT = 32 * 1024 * 1024;
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

function loopP99(): { p99Ms: number; maxMs: number } {
  const out = { p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 };
  loop.reset();
  return out;
}

function rawBodies(f: FastifyInstance): void {
  f.removeAllContentTypeParsers();
  f.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );
}

@Controller()
class FloorController {
  @All(['ingest', 'pyroscope/ingest'])
  async ingest(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const n = Buffer.isBuffer(req.body) ? req.body.length : 0;
    await reply.status(n > 0 ? 200 : 400).send();
  }

  @Get('loop')
  loop(): { p99Ms: number; maxMs: number } {
    return loopP99();
  }
}

@Module({ controllers: [FloorController] })
class FloorModule {}

async function main(): Promise<void> {
  const [kind, portArg] = process.argv.slice(2);
  const port = Number(portArg);
  if (kind === 'fastify') {
    const f = Fastify({ bodyLimit: BODY_LIMIT });
    rawBodies(f);
    f.post('/ingest', async (req, reply) => {
      const n = Buffer.isBuffer(req.body) ? req.body.length : 0;
      await reply.status(n > 0 ? 200 : 400).send();
    });
    f.get('/loop', async () => loopP99());
    await f.listen({ port, host: '127.0.0.1' });
  } else if (kind === 'nest') {
    const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT });
    const app = await NestFactory.create<NestFastifyApplication>(FloorModule, adapter, {
      logger: false,
      bodyParser: false,
    });
    rawBodies(app.getHttpAdapter().getInstance());
    await app.listen({ port, host: '127.0.0.1' });
  } else {
    throw new Error(`floor-http: unknown kind ${kind} (fastify or nest)`);
  }
  process.stdout.write(`listening ${port}\n`);
  process.once('SIGTERM', () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
