import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isOtlpPath, sendOtlpError } from '../otlp/otlp-reply.js';
import { errorBody } from './http-error.js';

// Errors that escape controllers (Nest's own HttpExceptions: body too large from the content
// parser, unknown routes, unsupported methods) answered in Pyroscope's JSON shape, with a
// message that tells the user what to change.
@Catch()
export class PyroscopeErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('Http');

  constructor(
    private readonly maxBodyBytes: number,
    private readonly onBodyTooLarge: () => void,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let status = 500;
    let message = 'internal error';
    // the HTTP edge's body errors carry their headers (Connection: close, Retry-After)
    const extra = (exception as { headers?: unknown })?.headers;
    const headers =
      typeof extra === 'object' && extra !== null && !(exception instanceof HttpException)
        ? (extra as Record<string, string>)
        : {};
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      message = exception.message;
    } else if (typeof (exception as { statusCode?: unknown })?.statusCode === 'number') {
      status = (exception as { statusCode: number }).statusCode;
      message = (exception as Error).message;
    } else {
      this.log.error(`unhandled error: ${(exception as Error)?.stack ?? String(exception)}`);
    }
    if (status === 413) {
      this.onBodyTooLarge();
      message = `request body too large: the limit is ${this.maxBodyBytes} bytes (EMBER_MAX_BODY_BYTES)`;
    }
    const req = host.switchToHttp().getRequest<FastifyRequest | undefined>();
    if (req?.url && isOtlpPath(req.url)) {
      const ct = req.headers['content-type'];
      void sendOtlpError(reply, (Array.isArray(ct) ? ct[0] : ct) ?? '', status, message, headers);
      return;
    }
    void reply
      .status(status)
      .headers(headers)
      .type('application/json')
      .send(errorBody(status, message));
  }
}
