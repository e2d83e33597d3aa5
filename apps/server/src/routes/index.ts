import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../http/route.js';
import { registerCheckRoutes } from './checks.js';
import { registerConfigRoutes } from './config-entities.js';
import type { RoutesDeps } from './context.js';
import { registerDeadLetterRoutes } from './dead-letters.js';
import { registerOpsRoutes } from './ops.js';
import { registerRunRoutes } from './runs.js';
import { registerSchemaChangeRoutes } from './schema-changes.js';
import { registerWebhookRoutes } from './webhooks.js';

/** Registers every route of the reference server. */
export async function registerApiRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  deps: RoutesDeps,
): Promise<void> {
  registerOpsRoutes(app, ctx, deps);
  registerConfigRoutes(app, ctx, deps);
  registerRunRoutes(app, ctx, deps);
  registerDeadLetterRoutes(app, ctx, deps);
  registerCheckRoutes(app, ctx, deps);
  registerSchemaChangeRoutes(app, ctx, deps);
  await registerWebhookRoutes(app, deps);
}

export type { RoutesDeps };
