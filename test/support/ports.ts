import { createServer } from 'node:net';

// Ports that tests bind stay below 32768: this machine kind hands out 32768-60999 to client
// sockets (net.ipv4.ip_local_port_range), so a server that is stopped and started again on a
// port of that range can find it taken by some outgoing connection meanwhile. Every test
// server (Emberflow processes, fake backends, in-process apps) takes its port from here.

/**
 * The range test servers bind in; below the ephemeral range, above the usual services.
 * `EMBER_TEST_PORT_RANGE=21100-21199` narrows it, so people sharing a machine each keep to
 * their own ports; a range outside 1024-32767 (or not `min-max`) is refused.
 */
export const TEST_PORT_RANGE = portRange(process.env.EMBER_TEST_PORT_RANGE);

export function portRange(raw: string | undefined): { min: number; max: number } {
  if (raw === undefined || raw.trim() === '') return { min: 20_000, max: 32_000 };
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(raw);
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2]) : NaN;
  if (!(min >= 1024 && max <= 32_767 && min < max))
    throw new Error(`EMBER_TEST_PORT_RANGE=${raw}: expected min-max within 1024-32767`);
  return { min, max };
}

// Ports handed out lately and perhaps not bound yet (a test takes two ports, then binds both):
// a probe finds them free, so they are skipped. In the full range a repeat is rare; in a
// narrowed one (EMBER_TEST_PORT_RANGE of a hundred ports) it broke the unit run.
const recent: number[] = [];
const RECENT = Math.min(64, Math.floor((TEST_PORT_RANGE.max - TEST_PORT_RANGE.min) / 2));

/** Binds `server`-less probes until a port in TEST_PORT_RANGE is free; returns it, unbound. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port =
      TEST_PORT_RANGE.min + Math.floor(Math.random() * (TEST_PORT_RANGE.max - TEST_PORT_RANGE.min));
    if (recent.includes(port) || !(await canBind(port, host))) continue;
    recent.push(port);
    if (recent.length > RECENT) recent.shift();
    return port;
  }
  throw new Error(`no free port in ${TEST_PORT_RANGE.min}-${TEST_PORT_RANGE.max} after 200 tries`);
}

/**
 * Runs `listen(port)` on ports of TEST_PORT_RANGE until one succeeds (a port can be taken
 * between a probe and the real bind); `listen` must reject with the bind error.
 */
export async function listenOnFreePort<T>(listen: (port: number) => Promise<T>): Promise<T> {
  let last: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    try {
      return await listen(port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      last = err;
    }
  }
  throw last;
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
