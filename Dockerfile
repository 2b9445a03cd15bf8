# syntax=docker/dockerfile:1
# The default makes the image build with or without build.yaml: since Supervisor 2026.04 a local build
# without build.yaml passes no BUILD_FROM.
ARG BUILD_FROM=ghcr.io/home-assistant/base:3.23

# ---- build: compile TypeScript (and whatever else `npm run build` produces), then drop dev dependencies
FROM ${BUILD_FROM} AS build
RUN apk add --no-cache nodejs npm
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` dev dependency would fetch a glibc Node that cannot run on Alpine's musl
# (Alpine's own Node 24 builds here), and `prepare` would build before the sources are in place.
RUN npm ci --ignore-scripts --no-audit --no-fund \
    && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
    && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: Alpine's Node, the compiled bridge, production dependencies, the s6 service
FROM ${BUILD_FROM}
RUN apk add --no-cache nodejs
# s6 waits this long (ms) for the bridge to stop after SIGTERM; longer than its own shutdown deadline.
ENV NODE_ENV=production \
    S6_SERVICES_GRACETIME=10000
WORKDIR /opt/pma-bridge
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY addon/rootfs /
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:3001/healthz || exit 1
ARG BUILD_ARCH
ARG BUILD_VERSION
LABEL io.hass.type="app" \
      io.hass.name="PMA Bridge" \
      io.hass.arch="${BUILD_ARCH}" \
      io.hass.version="${BUILD_VERSION}" \
      org.opencontainers.image.title="PMA Bridge" \
      org.opencontainers.image.licenses="MIT"
