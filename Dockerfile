# syntax=docker/dockerfile:1
# Multi-stage build of the Sluice reference server.
#   docker build -t sluice .            (or scripts/docker-build.sh)
#   docker run -p 8080:8080 sluice                                            (the quick start)
#   docker run -p 8080:8080 -v $PWD/sluice.yaml:/etc/sluice/sluice.yaml sluice  (your configuration)
#   docker run -p 8080:8080 -e SLUICE_CONFIG="$(cat sluice.yaml)" sluice

FROM node:22.12-bookworm-slim AS build
WORKDIR /src
ENV NX_DAEMON=false NX_NO_CLOUD=true
COPY . .
RUN npm ci --no-audit --no-fund \
 && npx nx run-many -t build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find packages apps -name '*.test.ts' -delete

FROM node:22.12-bookworm-slim AS runtime
# Where the configuration comes from, first match wins (as every sluice command looks): --config,
# then $SLUICE_CONFIG (the configuration itself, as deploy-aws.sh / deploy-gcp.sh inject it), then
# $SLUICE_CONFIG_FILE, then ./sluice.yaml. The image sets SLUICE_CONFIG_FILE to its bundled quick
# start and passes no --config, so an injected SLUICE_CONFIG (or a file mounted over
# /etc/sluice/sluice.yaml) replaces it.
ENV NODE_ENV=production \
    SLUICE_CONFIG_FILE=/etc/sluice/sluice.yaml
WORKDIR /app
# Only what the server needs at run time: production dependencies and the built packages
# (workspace packages are symlinked from node_modules, so their folders come along).
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages ./packages
COPY --from=build /src/apps ./apps
COPY --from=build /src/migrations ./migrations
# The quick start with the secret files it references (${file:./quickstart-api-key},
# ${file:./webhook-secret}, relative to the configuration's folder): demo values, replace them.
COPY --from=build --chown=node:node /src/examples/quickstart /etc/sluice
# Relative paths of a configuration (the quick start's ./.sluice/data and ./.sluice/out) are
# relative to the working directory: the server runs in its writable data folder.
RUN mkdir -p /var/lib/sluice \
 && chown -R node:node /var/lib/sluice
WORKDIR /var/lib/sluice
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/apps/server/dist/healthcheck.js"]
ENTRYPOINT ["node", "/app/apps/server/dist/cli.js"]
CMD ["serve", "--host", "0.0.0.0"]
