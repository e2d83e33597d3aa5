import { createHttpApp } from './http/app.js';
import { registerApiRoutes } from './routes/index.js';
import { createPromMetrics } from './runtime/metrics.js';
import type { SluiceServer } from './runtime/sluice.js';
import { readFileSync } from 'node:fs';

/**
 * The OpenAPI 3.1 document of the REST API, built from the same route definitions (and valibot
 * schemas) the server registers, without starting anything. `docs/api.md` is generated from it.
 *
 * @example
 * ```ts
 * const doc = await openApiDocument();
 * Object.keys(doc.paths); // ['/healthz', '/readyz', '/api/v1/pipelines', ...]
 * ```
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const version = (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;
  const { app, routes } = await createHttpApp({
    logger: false,
    version,
    bodyLimitBytes: 1024 * 1024,
    authEnabled: true,
    keys: () => [],
    rateLimitPerMinute: 600,
    redact: (v) => v,
  });
  // Handlers never run here: the routes only contribute their schemas.
  await registerApiRoutes(app, routes, {
    sluice: {} as SluiceServer,
    metrics: createPromMetrics({ defaultMetrics: false }).metrics,
    version,
  });
  await app.ready();
  const doc = app.swagger() as unknown as Record<string, unknown>;
  await app.close();
  return JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
}
