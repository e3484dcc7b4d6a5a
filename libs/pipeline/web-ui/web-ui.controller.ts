import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// The web UI (ui/, built by `npm run build:ui` into dist/ui) served from this process: no CDN,
// nothing fetched from anywhere else. `/` is the single page (its state lives in the query
// string); /assets/* are Vite's content-hashed files, cached for good. The UI itself reads only
// the query API and the fleet view, like any other client.

/** dist/ui, beside the compiled dist/libs this file is built into. */
export const UI_ROOT = fileURLToPath(new URL('../../../ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function contentTypeOf(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** The file under root that an asset path names, or null when it would leave root. */
export function resolveAsset(root: string, urlPath: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  if (rel.includes('\0')) return null;
  const file = normalize(join(root, rel));
  const base = root.endsWith(sep) ? root : root + sep;
  return file.startsWith(base) ? file : null;
}

@Controller()
export class WebUiController {
  private readonly root = UI_ROOT;

  @Get()
  async index(@Res({ passthrough: true }) reply: FastifyReply): Promise<Buffer | string> {
    return this.send(reply, join(this.root, 'index.html'), false);
  }

  @Get('assets/*')
  async asset(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer | string> {
    const file = resolveAsset(this.root, req.url);
    if (!file) {
      reply.status(404).header('content-type', 'text/plain; charset=utf-8');
      return 'not found';
    }
    return this.send(reply, file, true);
  }

  private async send(
    reply: FastifyReply,
    file: string,
    immutable: boolean,
  ): Promise<Buffer | string> {
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      reply.status(404).header('content-type', 'text/plain; charset=utf-8');
      return immutable
        ? 'not found'
        : `The web UI is not built (no ${file}): run \`npm run build\` (or \`npm run build:ui\`).\n`;
    }
    reply
      .header('content-type', contentTypeOf(file))
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (!immutable) reply.header('content-security-policy', CSP);
    return body;
  }
}
