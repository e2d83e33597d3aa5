import { errorCatalog, webhookRejectionError, type WebhookRejectionReason } from '@sluice/core';
import type { WebhookRejection } from '@sluice/scheduler';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../http/errors.js';
import { WindowCounters, clientAddress } from '../http/limits.js';
import type { RoutesDeps } from './context.js';

/** Largest body any webhook may accept (the scheduler caps `maxBytes` at the same value). */
const WEBHOOK_BODY_CEILING = 64 * 1024 * 1024;

/** What the gate of a request found out before the body is read. */
interface Gate {
  pipeline: string;
  maxBytes: number;
  /** The key of the sender's failure budget for this pipeline. */
  failureKey: string;
  /**
   * The delivery holds a place in the pipeline's budget of new runs, taken when it passed the
   * check: concurrent deliveries cannot all pass it at one place left. Given back when the
   * response is sent unless the delivery started a run.
   */
  holdsPlace: boolean;
}

const gates = new WeakMap<FastifyRequest, Gate>();

const tooLarge = (pipeline: string, maxBytes: number, size?: number) =>
  new ApiError(
    errorCatalog.webhookTooLarge,
    `${size === undefined ? 'the body' : `the body of ${size} bytes`} exceeds the limit of ${maxBytes} bytes of pipeline "${pipeline}" (webhook.maxBytes)`,
  );

// Every reason the scheduler rejects a delivery with has its own code in the error catalog:
// a reason added there without one fails to compile here.
type UncoveredRejection = Exclude<WebhookRejection | 'not-found', WebhookRejectionReason>;
const everyRejectionHasACode: [UncoveredRejection] extends [never] ? true : UncoveredRejection =
  true;
void everyRejectionHasACode;

const retryIn = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Reads a webhook body as a Buffer, at most the pipeline's `maxBytes`: once more arrive it stops
 * reading (the stream stays paused, the connection is closed after the 413) instead of buffering the rest.
 */
function readLimited(
  payload: NodeJS.ReadableStream,
  gate: Gate,
  done: (error: Error | null, body?: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let received = 0;
  let finished = false;
  const finish = (error: Error | null, body?: Buffer) => {
    if (finished) return;
    finished = true;
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    done(error, body);
  };
  const onData = (chunk: Buffer | string) => {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += buffer.length;
    if (received > gate.maxBytes) {
      payload.pause();
      finish(tooLarge(gate.pipeline, gate.maxBytes));
      return;
    }
    chunks.push(buffer);
  };
  const onEnd = () => finish(null, Buffer.concat(chunks, received));
  const onError = (error: Error) => finish(error);
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
}

/**
 * `POST /webhooks/:pipeline`: the raw body (never re-serialised, so signatures verify) goes to
 * the scheduler, which checks the signature scheme of the pipeline (Standard Webhooks, HubSpot
 * v3, Slack), the timestamp window, replays by delivery id and the size limit, then queues a run.
 * Registered in its own encapsulated context so the raw-body parser applies to this route only.
 *
 * Before a byte of the body is read, an `onRequest` gate looks the pipeline's webhook trigger up
 * in the scheduler: no trigger is a 404, a Content-Length over its `maxBytes` a 413, and a sender
 * over its budget a 429, each answered with `Connection: close` (see `closeUnreadBodies`) so the
 * body is not read at all. A body
 * without a length is counted while it streams and cut off at `maxBytes`.
 *
 * Budgets, each `server.rateLimit.perMinute` a minute, apart from API traffic (the route is
 * exempt from the API's rate limiter): new deliveries (202) per pipeline, and deliveries that
 * start no run (a bad signature, a stale or non-canonical one, too large, a bad payload, a
 * duplicate) per pipeline and sender address. A flood of forged or replayed deliveries thus
 * exhausts only its sender's budget, never the pipeline's or another sender's.
 */
export async function registerWebhookRoutes(app: FastifyInstance, deps: RoutesDeps): Promise<void> {
  const { sluice } = deps;
  const accepted = new WindowCounters();
  const failures = new WindowCounters();
  const perMinute = () => sluice.config().server.rateLimit.perMinute;

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (request, payload, done) => {
      const gate = gates.get(request);
      if (!gate) return done(new Error('webhook body read without its gate'), undefined);
      readLimited(payload, gate, (error, body) => {
        if (error) failures.add(gate.failureKey);
        done(error, body);
      });
    });
    scope.post<{ Params: { pipeline: string } }>(
      '/webhooks/:pipeline',
      {
        bodyLimit: WEBHOOK_BODY_CEILING,
        config: { rateLimit: false },
        onRequest: async (request) => {
          const pipeline = request.params.pipeline;
          const hook = sluice.scheduler.pipeline(pipeline)?.webhook;
          if (!hook) {
            throw new ApiError(
              errorCatalog.webhookNotFound,
              `pipeline ${JSON.stringify(pipeline)} has no webhook trigger`,
            );
          }
          const max = perMinute();
          const failureKey = `${pipeline}\n${clientAddress(request)}`;
          const failing = failures.retryAfterMs(failureKey, max);
          if (failing > 0) {
            throw new ApiError(
              errorCatalog.rateLimited,
              `more than ${max} deliveries a minute from this address to pipeline "${pipeline}" started no run (refused or duplicate); retry in ${retryIn(failing)} s`,
              [],
              { 'retry-after': String(retryIn(failing)) },
            );
          }
          // An inbox pipeline's bound is its inbox depth (webhook.inbox.maxDepth), not a rate.
          const busy = hook.delivery === 'inbox' ? 0 : accepted.retryAfterMs(pipeline, max);
          if (busy > 0) {
            throw new ApiError(
              errorCatalog.rateLimited,
              `pipeline "${pipeline}" accepts at most ${max} deliveries a minute; retry in ${retryIn(busy)} s`,
              [],
              {
                'retry-after': String(retryIn(busy)),
              },
            );
          }
          const maxBytes = Math.min(hook.maxBodyBytes, WEBHOOK_BODY_CEILING);
          const length = Number(request.headers['content-length']);
          if (
            request.headers['transfer-encoding'] === undefined &&
            Number.isFinite(length) &&
            length > maxBytes
          ) {
            failures.add(failureKey);
            throw tooLarge(pipeline, maxBytes, length);
          }
          const holdsPlace = hook.delivery !== 'inbox';
          if (holdsPlace) accepted.add(pipeline);
          gates.set(request, { pipeline, maxBytes, failureKey, holdsPlace });
        },
        onResponse: async (request) => {
          const gate = gates.get(request);
          if (gate?.holdsPlace) {
            gate.holdsPlace = false;
            accepted.remove(gate.pipeline);
          }
        },
        schema: {
          summary: 'Receive a signed webhook and start a run',
          description:
            "Public route protected by the pipeline's signature scheme instead of an API key. 202 with the run id. " +
            "200 with `{ runId, deliveryId, duplicate: true }` for a copy of a delivery already accepted (a sender's retry or a replay): no second run starts, `runId` is the first copy's run. " +
            '400 for a missing signature header or an invalid payload; 401 for an invalid signature, a timestamp outside the tolerance, or a signature header not in its one canonical form ' +
            '(a timestamp with a sign, spaces, leading zeros, a fraction or an exponent) or sent more than once; 404 when the pipeline has no webhook trigger; ' +
            "413 over the pipeline's `webhook.maxBytes`; 429 over a budget, or when the pipeline's queued runs reached `maxQueuedRuns` (back-pressure: nothing is queued, a retry of the same delivery id is accepted once runs drain), or, with `webhook.delivery: inbox`, its inbox holds `webhook.inbox.maxDepth` undelivered deliveries, with `Retry-After`. " +
            'A duplicate of an accepted delivery still answers 200 when the backlog is full.\n\n' +
            'The 404, a Content-Length over `webhook.maxBytes` (413) and the 429s are answered from the request head, before the body is read, and close the connection; ' +
            'a body without a length is cut off with 413 as soon as it passes `maxBytes`.\n\n' +
            'Webhooks are not rate limited with the API. Each pipeline accepts `server.rateLimit.perMinute` new deliveries a minute; each sender address may send that many ' +
            'deliveries that start no run (refused, or a duplicate) to a pipeline a minute, then its requests to that pipeline get 429 until the minute is over: ' +
            "forged deliveries exhaust the forger's budget, never the pipeline's or another sender's.",
          tags: ['webhooks'],
          security: [],
          params: {
            type: 'object',
            properties: { pipeline: { type: 'string' } },
            required: ['pipeline'],
          },
          response: {
            200: {
              description:
                'Duplicate of an accepted delivery: no new run; the run of the first copy (no `runId` with `webhook.delivery: inbox`)',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      runId: { type: 'string' },
                      deliveryId: { type: 'string' },
                      duplicate: { const: true },
                    },
                  },
                },
              },
            },
            202: {
              description:
                'Run queued; with `webhook.delivery: inbox`, `{ deliveryId, inbox: { position } }`: the delivery is committed to the inbox and a drain run will route it',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      runId: { type: 'string' },
                      deliveryId: { type: 'string' },
                      inbox: { type: 'object', properties: { position: { type: 'integer' } } },
                    },
                  },
                },
              },
            },
            400: { description: 'Signature header missing, or payload invalid' },
            401: {
              description:
                'Signature invalid, timestamp stale, or a signature header not canonical or sent twice',
            },
            404: {
              description:
                'No webhook trigger for this pipeline (answered without reading the body)',
            },
            413: {
              description:
                "Body over the pipeline's maxBytes (a Content-Length over it is refused before the body is read)",
            },
            429: {
              description:
                "The pipeline's new deliveries, or this address's deliveries to it that start no run, are over `server.rateLimit.perMinute`; or the pipeline's queued runs reached `maxQueuedRuns`; see Retry-After",
            },
          },
        },
      },
      async (request, reply) => {
        const gate = gates.get(request)!;
        const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const host = request.headers.host ?? 'localhost';
        const result = await sluice.scheduler.handleWebhook(request.params.pipeline, {
          headers: request.headers as Record<string, string | string[] | undefined>,
          rawBody,
          method: request.method,
          url: `${request.protocol}://${host}${request.url}`,
        });
        if (result.status < 300) {
          // A new run spends the pipeline's budget; a duplicate (200, no run) the sender's.
          // The place taken at the check is kept (counted since then).
          if (result.status === 202) gate.holdsPlace = false;
          else failures.add(gate.failureKey);
          return reply.status(result.status).send(result.body);
        }
        // Capacity answers (429/503) are the server's, not the sender's fault.
        if (result.status !== 429 && result.status < 500) failures.add(gate.failureKey);
        const body = result.body as { error: string; reason: string; retryAfterSeconds?: number };
        if (body.reason === 'backlog-full') {
          // Back-pressure: the pipeline's queued runs reached maxQueuedRuns; nothing was queued,
          // the sender's retry of this delivery id is queued once there is room.
          return reply
            .status(errorCatalog.backlogFull.status)
            .header('retry-after', String(body.retryAfterSeconds ?? 1))
            .send({
              error: { code: errorCatalog.backlogFull.code, message: body.error, details: [] },
            });
        }
        if (body.reason === 'inbox-unavailable') {
          return reply.status(errorCatalog.internal.status).send({
            error: { code: errorCatalog.internal.code, message: body.error, details: [] },
          });
        }
        return reply.status(result.status).send({
          error: {
            code: webhookRejectionError(body.reason).code,
            message: body.error,
            details: [],
          },
        });
      },
    );
  });
}
