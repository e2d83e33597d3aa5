/**
 * One entry point for every webhook signature scheme.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { MAX_DELIVERY_ID_LENGTH, digestId, header } from './crypto.js';
import { verifyHubSpotV3 } from './hubspot.js';
import { verifySlackRequest } from './slack.js';
import { verifyStandardWebhook } from './standard-webhooks.js';
import { reject, type WebhookRequest, type WebhookVerification } from './types.js';

/** Default accepted clock difference: 5 minutes, as Standard Webhooks, HubSpot and Slack recommend. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Verifies an inbound webhook's signature and timestamp over its raw body, comparing in constant
 * time. Timestamps are parsed once and only their canonical decimal text is accepted; the returned
 * `deliveryId` derives from the parsed values, so one signed request has one id however its
 * headers are spelled. Replay protection (a delivery id seen before) is the caller's next step,
 * with that id and a `WebhookDeliveryStore`; `Scheduler.handleWebhook` does both.
 *
 * Scheme `none` accepts every request (use it only behind another authentication layer); its
 * delivery id is the sender's `webhook-id` / `idempotency-key` / `x-request-id` header if any
 * (a digest of it when it is longer than the store keeps), else random.
 *
 * @example
 * ```ts
 * const result = verifyWebhook({
 *   scheme: 'standard-webhooks',
 *   secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
 *   headers: request.headers,
 *   rawBody: request.rawBody,
 *   method: 'POST',
 *   url: 'https://sluice.example.com/webhooks/daily',
 * });
 * if (!result.ok) return reply.code(result.status).send({ error: result.reason });
 * ```
 */
export function verifyWebhook(request: WebhookRequest): WebhookVerification {
  const now = request.now ?? Date.now();
  const toleranceSeconds = request.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  const common = { headers: request.headers, rawBody: request.rawBody, now, toleranceSeconds };
  if (request.scheme === 'none') {
    const senderId =
      header(request.headers, 'webhook-id') ??
      header(request.headers, 'idempotency-key') ??
      header(request.headers, 'x-request-id');
    if (!senderId) return { ok: true, deliveryId: `none:${randomUUID()}` };
    const deliveryId = `none:${senderId}`;
    return {
      ok: true,
      deliveryId:
        deliveryId.length > MAX_DELIVERY_ID_LENGTH ? digestId('none', [senderId]) : deliveryId,
    };
  }
  if (
    request.scheme !== 'standard-webhooks' &&
    request.scheme !== 'hubspot-v3' &&
    request.scheme !== 'slack'
  ) {
    return reject('unknown-scheme', `unknown webhook scheme ${JSON.stringify(request.scheme)}`);
  }
  if (!request.secret) return reject('missing-secret', `scheme ${request.scheme} needs a secret`);
  switch (request.scheme) {
    case 'standard-webhooks':
      return verifyStandardWebhook({ ...common, secret: request.secret });
    case 'hubspot-v3':
      return verifyHubSpotV3({
        ...common,
        secret: request.secret,
        method: (request.method ?? 'POST').toUpperCase(),
        url: request.url,
      });
    case 'slack':
      return verifySlackRequest({ ...common, secret: request.secret });
  }
}
