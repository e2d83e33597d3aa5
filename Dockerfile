# syntax=docker/dockerfile:1
# Multi-stage build of the Sluice reference server.
#   docker build -t sluice .            (or scripts/docker-build.sh)
#   docker run -p 8080:8080 -v $PWD/sluice.yaml:/etc/sluice/sluice.yaml sluice

FROM node:22.12-bookworm-slim AS build
WORKDIR /src
ENV NX_DAEMON=false NX_NO_CLOUD=true
COPY . .
RUN npm ci --no-audit --no-fund \
 && npx nx run-many -t build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find packages apps -name '*.test.ts' -delete

FROM node:22.12-bookworm-slim AS runtime
ENV NODE_ENV=production \
    SLUICE_DATA_DIR=/var/lib/sluice
WORKDIR /app
# Only what the server needs at run time: production dependencies and the built packages
# (workspace packages are symlinked from node_modules, so their folders come along).
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages ./packages
COPY --from=build /src/apps ./apps
COPY --from=build /src/examples/quickstart ./examples/quickstart
COPY --from=build /src/migrations ./migrations
RUN mkdir -p /var/lib/sluice /etc/sluice \
 && cp examples/quickstart/sluice.yaml /etc/sluice/sluice.yaml \
 && chown -R node:node /var/lib/sluice /etc/sluice
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "apps/server/dist/healthcheck.js"]
ENTRYPOINT ["node", "apps/server/dist/cli.js"]
CMD ["serve", "--config", "/etc/sluice/sluice.yaml", "--host", "0.0.0.0"]
