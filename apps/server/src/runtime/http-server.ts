/**
 * The HTTP side of a running Sluice: the Fastify app (limits, API keys, rate limit, redacted
 * errors) with every REST, webhook and operations route, listening on the configured address.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import type { Logger as PinoLogger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '@sluice/core';
import type { SluiceConfig } from '@sluice/config';
import { createHttpApp } from '../http/app.js';
import { registerDashboard } from '../http/dashboard.js';
import type { ApiKeyEntry } from '../http/auth.js';
import { registerApiRoutes } from '../routes/index.js';
import type { SluiceServer } from './sluice.js';

/** The installed @sluice/server's version (src/runtime/ and dist/runtime/ sit two levels below package.json). */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** What the routes serve. */
  sluice: SluiceServer;
  /** The `server` section in force at start (limits, auth, address). */
  config: SluiceConfig['server'];
  logger: PinoLogger;
  metrics: Metrics;
  /** The API keys in force, read on every request (they follow configuration changes). */
  keys: () => readonly ApiKeyEntry[];
  redact: <T>(value: T) => T;
  /** Overrides `server.port` (0 = any free port). */
  port?: number | undefined;
  /** Overrides `server.host`. */
  host?: string | undefined;
}

/**
 * Creates the app, registers the routes (and the dashboard at `/` unless `server.dashboard` is
 * false or `server.auth` is off) and listens.
 *
 * @example
 * ```ts
 * const { app, url } = await startHttpServer({ sluice, config: config.server, logger, metrics, keys: () => keys, redact });
 * ```
 */
export async function startHttpServer(
  options: HttpServerOptions,
): Promise<{ app: FastifyInstance; url: string }> {
  const { config } = options;
  const created = await createHttpApp({
    logger: options.logger.child({ component: 'http' }),
    version: VERSION,
    bodyLimitBytes: config.bodyLimitBytes,
    authEnabled: config.auth,
    keys: options.keys,
    rateLimitPerMinute: config.rateLimit.perMinute,
    redact: options.redact,
  });
  const app = created.app;
  await registerApiRoutes(app, created.routes, {
    sluice: options.sluice,
    metrics: options.metrics,
    version: VERSION,
  });
  // The dashboard signs in with an API key: without API-key auth it is not served at all. Said
  // at info, not warn: it follows from the operator's own `auth: false`, and the dashboard is on
  // by default, so a warning would greet every server run without keys (tests, local tools).
  if (config.dashboard && config.auth) await registerDashboard(app);
  else if (config.dashboard)
    options.logger.info(
      'the dashboard is not served: server.auth is false, and the dashboard is never served without API keys',
    );
  await app.ready();
  const address = await app.listen({
    port: options.port ?? config.port,
    host: options.host ?? config.host,
  });
  return { app, url: address.replace('[::1]', 'localhost') };
}
