import type { FastifyInstance } from 'fastify';
import type { RoutesDeps } from './context.js';

/** Largest webhook body accepted before the pipeline's own `maxBytes` applies. */
const WEBHOOK_BODY_CEILING = 64 * 1024 * 1024;

/**
 * `POST /webhooks/:pipeline`: the raw body (never re-serialised, so signatures verify) goes to
 * the scheduler, which checks the signature scheme of the pipeline (Standard Webhooks, HubSpot
 * v3, Slack), the timestamp window, replays by delivery id and the size limit, then queues a run.
 * Registered in its own encapsulated context so the raw-body parser applies to this route only.
 */
export async function registerWebhookRoutes(app: FastifyInstance, deps: RoutesDeps): Promise<void> {
  const { sluice } = deps;
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_CEILING }, (_request, body, done) => done(null, body));
    scope.post<{ Params: { pipeline: string } }>(
      '/webhooks/:pipeline',
      {
        bodyLimit: WEBHOOK_BODY_CEILING,
        schema: {
          summary: 'Receive a signed webhook and start a run',
          description:
            'Public route protected by the pipeline\'s signature scheme instead of an API key. 202 with the run id; 401 for a missing or invalid signature, ' +
            'a timestamp outside the tolerance or a replayed delivery id; 404 when the pipeline has no webhook trigger; 413 over the size limit.',
          tags: ['webhooks'],
          security: [],
          params: { type: 'object', properties: { pipeline: { type: 'string' } }, required: ['pipeline'] },
          response: {
            202: { description: 'Run queued', content: { 'application/json': { schema: { type: 'object', properties: { runId: { type: 'string' }, deliveryId: { type: 'string' } } } } } },
            401: { description: 'Signature missing, invalid, stale or replayed' },
            404: { description: 'No webhook trigger for this pipeline' },
            413: { description: 'Body over the pipeline\'s maxBytes' },
          },
        },
      },
      async (request, reply) => {
        const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const host = request.headers.host ?? 'localhost';
        const result = await sluice.scheduler.handleWebhook(request.params.pipeline, {
          headers: request.headers as Record<string, string | string[] | undefined>,
          rawBody,
          method: request.method,
          url: `${request.protocol}://${host}${request.url}`,
        });
        if (result.status === 202) return reply.status(202).send(result.body);
        const body = result.body as { error: string; reason: string };
        return reply.status(result.status).send({
          error: { code: `SLUICE_ERR_WEBHOOK_${body.reason.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`, message: body.error, details: [] },
        });
      },
    );
  });
}
