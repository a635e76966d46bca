# Hearth in a container: built from this repository, run on Node 24 (slim) as a non-root user.
#
#   docker build -t hearth .
#   docker run --init -p 8787:8787 -v hearth-data:/data --stop-timeout 30 hearth
#   docker run --init -p 8787:8787 -v hearth-data:/data --stop-timeout 30 hearth examples/chat-room/src/index.ts
#
# The arguments are those of `hearth start` after `start`; the default serves examples/counter.
# Your own app: see docs/deploy.md ("Your own project in an image").

# ---- build: compile TypeScript and the inspector's UI, then drop the dev dependencies ----
FROM node:24-slim AS build
WORKDIR /src
# Dependencies first, so this layer is reused until the lockfile changes. No install scripts here:
# `prepare` (npm run build) needs the sources, which are not copied yet.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm rebuild && npm run build && npm prune --omit=dev

# ---- run ----
FROM node:24-slim
ENV NODE_ENV=production \
    HEARTH_HOST=0.0.0.0 \
    HEARTH_PORT=8787 \
    HEARTH_DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=root:root /src/package.json ./
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --from=build --chown=root:root /src/examples ./examples
# The code is root's and read-only to the server; only /data is the server's. The image's `node`
# user (uid 1000) runs it.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8787

# Healthy while the server answers HTTP (GET /metrics: 200, or 404 when started with --no-metrics).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HEARTH_PORT}/metrics`).then((r) => process.exit(r.status < 500 ? 0 : 1), () => process.exit(1))"]

# Node is the process that gets the signal (exec form, no shell in between): on SIGTERM Hearth stops
# taking requests, finishes what is running, flushes and closes every agent file (in a cluster: hands
# its agents back), within 10 s. Give `docker stop` more than that: --stop-timeout 30.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli/main.js", "start"]
CMD ["examples/counter/src/index.ts"]
