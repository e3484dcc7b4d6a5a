import { listenOnFreePort } from '../../../test/support/ports.js';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { decodePushRequest, type PushRequest } from '../../protocol/index.js';

// A Push API server of our own for tests: decodes every request with our push.v1 definitions
// and records it; `respond` decides each answer (default 200 with an empty proto message).

export interface ReceivedPush {
  headers: IncomingHttpHeaders;
  request: PushRequest;
  bodyBytes: number;
}

export interface FakeAnswer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface FakePyroscope {
  url: string;
  received: ReceivedPush[];
  /** called per request before recording; a non-2xx answer means not recorded as accepted */
  respond: (req: ReceivedPush) => FakeAnswer | Promise<FakeAnswer>;
  /**
   * requests answered 2xx to a client still connected (a server drops the work of a request
   * whose client went away, as Pyroscope's handlers do when their context is cancelled)
   */
  accepted: ReceivedPush[];
  close(): Promise<void>;
}

export async function startFakePyroscope(port?: number): Promise<FakePyroscope> {
  const fake: FakePyroscope = {
    url: '',
    received: [],
    accepted: [],
    respond: () => ({ status: 200 }),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let gone = false;
    res.on('close', () => {
      if (!res.writableEnded) gone = true;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let raw = Buffer.concat(chunks);
        try {
          if (req.url !== '/push.v1.PusherService/Push') {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end('{"code":"not_found","message":"404 page not found"}');
            return;
          }
          if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
          const rec: ReceivedPush = {
            headers: req.headers,
            request: decodePushRequest(new Uint8Array(raw)),
            bodyBytes: raw.length,
          };
          fake.received.push(rec);
          const a = await fake.respond(rec);
          if (gone || res.destroyed) return;
          if (a.status >= 200 && a.status < 300) fake.accepted.push(rec);
          res.writeHead(a.status, {
            'content-type': a.status === 200 ? 'application/proto' : 'application/json',
            ...a.headers,
          });
          res.end(a.body ?? '');
        } catch (err) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 'invalid_argument', message: (err as Error).message }));
        }
      })();
    });
  });
  const bind = (p: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(p);
      });
    });
  const bound = port === undefined ? await listenOnFreePort(bind) : await bind(port);
  fake.url = `http://127.0.0.1:${bound}`;
  fake.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}
