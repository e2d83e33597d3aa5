/**
 * The Standard Webhooks trigger: reads the three headers strictly (as the other schemes do) and
 * hands them to core's one Standard Webhooks implementation (`@sluice/core/standard-webhooks`),
 * which the webhook destination signs with, so both sides accept the same secrets.
 *
 * @packageDocumentation
 */
import {
  parseStandardWebhooksSecret,
  verifyStandardWebhook as verifyMessage,
} from '@sluice/core/standard-webhooks';
import { MAX_DELIVERY_ID_LENGTH, canonicalTimestamp, exactHeader } from './crypto.js';
import { reject, type WebhookVerification } from './types.js';

export { parseStandardWebhooksSecret, signStandardWebhook } from '@sluice/core/standard-webhooks';

/**
 * Verifies a Standard Webhooks request; the delivery id is the sender's `webhook-id`, exactly as
 * signed. The timestamp is signed as text, and only its canonical decimal spelling is accepted
 * (the official libraries sign the number, so that is the only text a sender produces).
 *
 * @example
 * ```ts
 * verifyStandardWebhook({ secret, headers, rawBody, now: Date.now(), toleranceSeconds: 300 });
 * ```
 */
export function verifyStandardWebhook(input: {
  secret: string;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  rawBody: Buffer;
  now: number;
  toleranceSeconds: number;
}): WebhookVerification {
  const secret = parseStandardWebhooksSecret(input.secret);
  if (!secret.ok) return reject('invalid-secret', `the secret ${secret.problem}`);
  const id = exactHeader(input.headers, 'webhook-id');
  if (!id.ok) return id;
  if (!id.value) return reject('missing-header', 'missing header webhook-id');
  if (id.value.length > MAX_DELIVERY_ID_LENGTH) {
    return reject(
      'invalid-header',
      `webhook-id is longer than ${MAX_DELIVERY_ID_LENGTH} characters`,
    );
  }
  const timestamp = canonicalTimestamp(input.headers, 'webhook-timestamp', 'seconds');
  if (!timestamp.ok) return timestamp;
  const signature = exactHeader(input.headers, 'webhook-signature');
  if (!signature.ok) return signature;
  if (!signature.value) return reject('missing-header', 'missing header webhook-signature');
  const result = verifyMessage({
    secret: input.secret,
    id: id.value,
    timestampSeconds: timestamp.value,
    signature: signature.value,
    body: input.rawBody,
    nowMs: input.now,
    toleranceSeconds: input.toleranceSeconds,
  });
  if (!result.ok)
    return reject(
      result.reason === 'invalid-timestamp' ? 'invalid-header' : result.reason,
      result.message,
    );
  return { ok: true, deliveryId: id.value, timestamp: timestamp.value * 1000 };
}
