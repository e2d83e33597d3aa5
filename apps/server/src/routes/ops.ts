import * as v from 'valibot';
import type { FastifyInstance } from 'fastify';
import { clientAddress } from '../http/limits.js';
import { addRoute, type RouteContext } from '../http/route.js';
import type { Scope } from '../http/auth.js';
import type { RoutesDeps } from './context.js';
import { errorResponses } from './schemas.js';

/** Every scope, weakest first. */
const SCOPES: readonly Scope[] = ['read', 'run', 'admin'];

/** Liveness, readiness, metrics, reload, the calling key and plugin listing. */
export function registerOpsRoutes(app: FastifyInstance, ctx: RouteContext, deps: RoutesDeps): void {
  const { sluice, metrics } = deps;
  const tags = ['operations'];
  const duration = metrics.histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  addRoute(app, ctx, {
    method: 'GET',
    url: '/healthz',
    scope: 'public',
    summary: 'Liveness',
    description: 'Answers 200 while the process runs its event loop. Never rate limited.',
    tags,
    rateLimit: false,
    responses: { 200: { description: 'Alive', schema: v.object({ status: v.literal('ok') }) } },
    handler: () => ({ status: 'ok' as const }),
  });

  addRoute(app, ctx, {
    method: 'GET',
    url: '/readyz',
    scope: 'public',
    summary: 'Readiness',
    description:
      'Answers 200 when the store answers and every migration is applied, 503 otherwise. Never rate limited.',
    tags,
    rateLimit: false,
    responses: {
      200: {
        description: 'Ready',
        schema: v.object({ status: v.string(), checks: v.record(v.string(), v.string()) }),
      },
      503: { description: 'Not ready' },
    },
    handler: async ({ reply }) => {
      const checks: Record<string, string> = {};
      try {
        await sluice.store.ping();
        checks.store = 'ok';
        const status = await sluice.store.migrationStatus();
        const pending = status.filter((m) => m.state === 'pending').length;
        const changed = status.filter((m) => m.state === 'changed').length;
        checks.migrations =
          pending + changed === 0 ? 'ok' : `${pending} pending, ${changed} changed since applied`;
      } catch (error) {
        checks.store = `unreachable: ${(error as Error).message}`;
      }
      const ready = Object.values(checks).every((c) => c === 'ok');
      void reply.status(ready ? 200 : 503);
      return { status: ready ? 'ready' : 'not ready', checks };
    },
  });

  // Scrapes are limited per client address in a bucket of their own: a flood of bad API keys
  // (or of anything else) from another address cannot starve the operator's scraper, and an
  // anonymous client still cannot make the server render metrics without bound.
  app.get(
    '/metrics',
    {
      config: { rateLimit: { keyGenerator: (request) => `metrics:${clientAddress(request)}` } },
      schema: {
        summary: 'Prometheus metrics',
        description:
          'The Prometheus text exposition format. Rate limited per client address, apart from API traffic: `server.rateLimit.perMinute` scrapes a minute.',
        tags,
        security: [],
      },
    },
    async (_request, reply) => {
      void reply.type('text/plain; version=0.0.4; charset=utf-8');
      return sluice.metricsText();
    },
  );

  addRoute(app, ctx, {
    method: 'POST',
    url: '/api/v1/reload',
    scope: 'admin',
    summary: 'Reload the configuration file',
    description:
      'Re-reads sluice.yaml, saves changed entities as new versions and applies them; running runs are not interrupted. Same as SIGHUP.',
    tags,
    responses: {
      200: { description: 'Reloaded', schema: v.object({ changed: v.array(v.string()) }) },
      ...errorResponses,
    },
    handler: () => sluice.reload(),
  });

  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/key',
    scope: 'read',
    summary: "The calling API key's name and scopes",
    description:
      'The key that authorised this request: its name and every scope it holds, implied ones included (`admin` implies `run`, which implies `read`), ' +
      'so a client such as the dashboard offers only what the key may do. Never the key or its hash. With `server.auth: false` the caller is `anonymous` with every scope.',
    tags,
    responses: {
      200: {
        description: 'The key',
        schema: v.object({
          name: v.string(),
          scopes: v.array(v.picklist(['read', 'run', 'admin'])),
        }),
      },
      ...errorResponses,
    },
    handler: ({ keyName }) => {
      const entry = ctx.authEnabled ? ctx.keys().find((key) => key.name === keyName) : undefined;
      const held = entry ? entry.scopes : new Set(SCOPES);
      return { name: keyName, scopes: SCOPES.filter((scope) => held.has(scope)) };
    },
  });

  addRoute(app, ctx, {
    method: 'GET',
    url: '/api/v1/plugins',
    scope: 'read',
    summary: 'List registered plugins and kinds',
    tags,
    responses: {
      200: {
        description: 'Plugins and kinds',
        schema: v.object({
          plugins: v.array(v.string()),
          connectors: v.array(v.string()),
          destinations: v.array(v.string()),
          transforms: v.array(v.string()),
        }),
      },
    },
    handler: () => ({
      plugins: sluice.registry.plugins(),
      connectors: sluice.registry.kinds('connector'),
      destinations: sluice.registry.kinds('destination'),
      transforms: sluice.registry.kinds('transform'),
    }),
  });
}
