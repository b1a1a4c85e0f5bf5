# syntax=docker/dockerfile:1
# The identity provider. Node 24 runs the TypeScript sources directly (type stripping), so
# there is no build step: production dependencies plus src/, migrations/, views/ and config/.
FROM node:24-slim

ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app

# Dependencies first, so source edits reuse this layer. @node-rs/argon2 comes as a prebuilt
# binary package per platform (linux-x64-gnu, linux-arm64-gnu, ...) from the npm registry: no
# compiler is needed here.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# Owned by root (COPY's default) and read-only for the app user below, so the running process
# cannot rewrite its own code or templates.
COPY bin/ ./bin/
COPY src/ ./src/
COPY migrations/ ./migrations/
COPY views/ ./views/
COPY lists/ ./lists/
COPY config/ ./config/

# Node's compile cache (README, "Memory"): the type-stripped sources and their compiled code,
# written by the first start and read by the next ones. The only directory here the app user may
# write; the code itself stays read-only.
RUN mkdir -p node_modules/.cache/node-compile-cache && chown node:node node_modules/.cache/node-compile-cache
ENV NODE_COMPILE_CACHE=node_modules/.cache/node-compile-cache

# The official image's unprivileged user (uid 1000).
USER node

EXPOSE 3000

# slim has no curl: ask Node's fetch. /healthz is liveness; orchestrators should also probe /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# glibc's allocator: allocations from 128 KiB up get their own mapping, returned on free, and at
# most two arenas; the same as `npm start` (README, "Memory"), which a test keeps alike.
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=2

# Exec form, no shell in between: node receives SIGTERM itself (src/main.ts shuts down gracefully).
# The same V8 flags as `npm start` (README, "Memory"); a test keeps the two alike.
CMD ["node", "--max-semi-space-size=8", "src/main.ts"]
