// A small program with a known hot function, profiled by @pyroscope/nodejs (wall and heap) and
// configured the way Datakit's Pyroscope docs configure agents: server address, application name
// and the tags host, service, version, env, process_id, runtime_id. The suite runner
// (test/agents/run) copies it next to the agent it installed in .cache/agents/node and passes:
//   PYROSCOPE_SERVER_ADDRESS, PYROSCOPE_APPLICATION_NAME, PYROSCOPE_LABELS ("k=v,k=v"),
//   PYROSCOPE_UPLOAD_INTERVAL (seconds), EMBER_RUN_SECONDS.
// process_id is this process's pid, added here as Datakit's examples do.
import Pyroscope from '@pyroscope/nodejs';

const env = (name, def) => process.env[name] ?? def;
const intervalMs = Number(env('PYROSCOPE_UPLOAD_INTERVAL', '10')) * 1000;
const runMs = Number(env('EMBER_RUN_SECONDS', '30')) * 1000;

const tags = {};
for (const kv of env('PYROSCOPE_LABELS', '').split(',')) {
  const i = kv.indexOf('=');
  if (i > 0) tags[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
}
tags.process_id = String(process.pid);

Pyroscope.init({
  serverAddress: env('PYROSCOPE_SERVER_ADDRESS', 'http://127.0.0.1:4040'),
  appName: env('PYROSCOPE_APPLICATION_NAME', 'ember-agent-node'),
  tags,
  flushIntervalMs: intervalMs,
  wall: { samplingDurationMs: intervalMs },
  heap: { samplingIntervalBytes: 64 * 1024 },
});
Pyroscope.start();
console.log(`EMBER_READY pid=${process.pid}`);

let sink = 0;
function emberHotLoop(rounds) {
  let acc = 1;
  for (let i = 0; i < rounds; i++) acc = (Math.imul(acc, 1103515245) + (i ^ (acc >>> 7))) | 0;
  return acc;
}
function emberColdLoop(rounds) {
  let acc = 7;
  for (let i = 0; i < rounds; i++) acc = ((acc << 5) | (acc >>> 27)) ^ i;
  return acc;
}
const retained = [];
function emberAlloc() {
  for (let i = 0; i < 64; i++) retained.push(new Array(256).fill(i));
  if (retained.length > 20_000) retained.splice(0, 10_000);
}

// Work in slices so the event loop can run the agent's timers and uploads.
const end = Date.now() + runMs;
while (Date.now() < end) {
  const slice = Date.now() + 200;
  while (Date.now() < slice) {
    sink ^= emberHotLoop(2_000_000);
    sink ^= emberColdLoop(200_000);
  }
  emberAlloc();
  await new Promise((r) => setImmediate(r));
}
console.log(`EMBER_DONE ${sink & 1}`);
await Pyroscope.stop();
