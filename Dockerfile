# syntax=docker/dockerfile:1
#
# One image for every node of the cluster; SERVICES (and the rest of the env, see
# lib/config.ts) decides what a container runs. Build: docker build -t moleculer-shop .

# ---- build: full dependency tree (TypeScript, ...), compile, then drop the dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The devDependency "node" puts its own Node binary in node_modules/.bin for the npm scripts; the
# prune removes it, so the runtime stage uses the base image's node (same major, 24).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies and compiled JavaScript only, as the unprivileged user.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The risk model's weights, read at start (domain/risk.ts).
COPY --from=build /app/models ./models
# Code stays root-owned (read-only for the app); only DATA_DIR (./data by default) is writable.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Liveness of the HTTP gateway. A node without the api service serves no HTTP: it counts as healthy
# while its process runs (no curl in slim images, hence node's fetch).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const s=(process.env.SERVICES||'all').split(',').map(x=>x.trim());if(!s.includes('all')&&!s.includes('api'))process.exit(0);fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly, not npm start (its prestart would try to compile).
CMD ["node", "dist/bin/node.js"]
