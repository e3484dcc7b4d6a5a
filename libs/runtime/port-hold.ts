import { createServer, type Server } from 'node:net';

// The entry points take the HTTP port before anything else (no connection opened, nothing
// logged), so a port in use is one line and exit 1, not a half-started process and a stack
// trace; Fastify gets the port once everything it serves is up.

/** A start that cannot succeed for a reason one line explains (a port in use). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `Emberflow cannot start: port ${port} on ${host} is already in use (another Emberflow?). Stop what listens there, or set EMBER_HTTP_PORT to a free port.`,
    );
  if (code === 'EACCES')
    return new StartupError(
      `Emberflow cannot start: no permission to listen on port ${port} on ${host}. Set EMBER_HTTP_PORT to a port above 1023.`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new StartupError(
      `Emberflow cannot start: ${host} is not an address of this machine. Set EMBER_HTTP_HOST to one of its addresses, or 0.0.0.0.`,
    );
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Binds host:port, to be closed right before the HTTP server listens there; throws StartupError
 * when it cannot. Closing resolves at once: connections made meanwhile are dropped.
 */
export async function holdPort(host: string, port: number): Promise<Server | null> {
  if (port === 0) return null; // any free port: nothing to check
  // A client that connects meanwhile (a readiness probe) is dropped at once: the hold must not
  // answer, and close() must not wait for that connection to end.
  const server = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => resolve());
    });
    return server;
  } catch (err) {
    throw listenError(err, host, port);
  }
}
