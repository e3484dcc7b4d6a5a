# syntax=docker/dockerfile:1
#
# One image for every Emberflow target. The entry point is chosen by the command:
#   dist/apps/emberflow/main.js   the targets named by EMBER_TARGETS (default: all, in one process)
#   dist/apps/ingest/main.js      ingest only
#   dist/apps/decoder/main.js     decoder only
#   dist/apps/exporter/main.js    exporter only (embedded store + query API)
# e.g. `docker run emberflow dist/apps/decoder/main.js`. Ports, env and topology: docs/deployment.md.
# libs/runtime/deployment-descriptors.spec.ts checks this file against the code.

ARG NODE_IMAGE=node:20-bookworm-slim

# ------------------------------------------------------------------------------------------ build
FROM ${NODE_IMAGE} AS build
# The npm that wrote package-lock.json; npm 11 honours package.json `allowScripts` (better-sqlite3).
ARG NPM_VERSION=11.19.1
WORKDIR /app

# better-sqlite3 is a native module: node-gyp needs python3, make and a C++ compiler when no
# prebuilt binary matches this Node ABI and libc. Only the build stage carries them.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && npm install -g "npm@${NPM_VERSION}"

# Dependencies first: this layer is reused until package.json or the lock file changes.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
# The web UI (React + Vite, docs/adr/0007-web-ui.md): `npm run build` bundles it into dist/ui.
COPY ui ./ui
# Unit specs beside the code import test/support; tsc compiles them with everything else.
COPY test ./test
# The two halves of `npm run build` (scripts/build.mjs, which only adds the record of what was
# built for `npm start`; scripts/ is not in the build context).
RUN npm run build:ts && npm run build:ui \
  && npm prune --omit=dev --no-audit --no-fund \
  && find dist -name '*.spec.js' -delete -o -name '*.spec.js.map' -delete

# ---------------------------------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
# EMBER_GRPC_PORT: OTLP/gRPC and Push over gRPC, opened by processes running the ingest target
# (its default, written out so EXPOSE below visibly matches it).
# EMBER_HTTP_HOST: a container must listen on every interface to be reachable through a published
# port (unset, embedded defaults would bind 127.0.0.1 inside the container).
# MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_: glibc gives each thread (worker threads, libuv's pool,
# V8's helpers) a malloc arena of its own, up to 8 per core, each keeping what it freed: 2 arenas,
# and large blocks (bodies, records) always mapped and unmapped on their own
# (libs/runtime/malloc-env.ts, docs/deployment.md Memory). glibc reads them when the process
# starts, so they have to be in the environment of node.
ENV NODE_ENV=production \
  MALLOC_ARENA_MAX=2 \
  MALLOC_MMAP_THRESHOLD_=131072 \
  EMBER_HTTP_PORT=9529 \
  EMBER_GRPC_PORT=4317 \
  EMBER_HTTP_HOST=0.0.0.0 \
  EMBER_DATA_DIR=/var/lib/emberflow
WORKDIR /app

# The embedded store (the exporter's SQLite file) lives under EMBER_DATA_DIR; mount a volume there.
RUN mkdir -p /var/lib/emberflow && chown node:node /var/lib/emberflow

COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/apps ./dist/apps
COPY --from=build /app/dist/libs ./dist/libs
COPY --from=build /app/dist/ui ./dist/ui

# The image's `node` user (uid 1000); files under /app stay root-owned and read-only to it.
USER node
# HTTP (agents, query API, probes, /metrics) and gRPC (ingest only; docs/deployment.md).
EXPOSE 9529 4317

# Liveness only (/healthz): readiness (/readyz) depends on Kafka and Redis and is for routing,
# not for restarting. The slim image has no curl; Node 20 has fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.EMBER_HTTP_PORT||9529)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["dist/apps/emberflow/main.js"]
