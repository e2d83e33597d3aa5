/**
 * The Standard Webhooks scheme (https://www.standardwebhooks.com, also used by Svix, Resend,
 * Clerk and others): `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature`
 * (`v1,<base64>` entries separated by spaces) over `${id}.${timestamp}.${body}`, keyed by the
 * base64 bytes of a `whsec_…` secret.
 *
 * @packageDocumentation
 */
import { MAX_DELIVERY_ID_LENGTH, canonicalTimestamp, constantTimeEqual, exactHeader, hmacSha256, withinTolerance } from './crypto.js';
import { reject, type WebhookVerification } from './types.js';
import { decodeStandardWebhooksSecret as decodeSecret } from '@sluice/core';

/**
 * Decodes a Standard Webhooks secret (`whsec_<base64>`, or the bare base64) into key bytes, or
 * `undefined` when it is not base64: core's decoder, shared with the configuration's validation.
 *
 * @example
 * ```ts
 * decodeStandardWebhooksSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')?.length; // 24
 * ```
 */
export const decodeStandardWebhooksSecret: (secret: string) => Buffer | undefined = decodeSecret;

/**
 * Computes the `v1,<base64>` signature a Standard Webhooks sender puts in `webhook-signature`.
 * Useful for tests and for Sluice's own outgoing webhooks.
 *
 * @example
 * ```ts
 * signStandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, Buffer.from('{"test": 2432232314}'));
 * // 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
 * ```
 */
export function signStandardWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  rawBody: Buffer,
): string {
  const key = decodeStandardWebhooksSecret(secret);
  if (!key) throw new TypeError('secret: expected "whsec_" followed by base64');
  return `v1,${hmacSha256(key, [`${id}.${timestampSeconds}.`, rawBody]).toString('base64')}`;
}

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
  const key = decodeStandardWebhooksSecret(input.secret);
  if (!key) return reject('invalid-secret', 'the secret must be "whsec_" followed by base64');
  const id = exactHeader(input.headers, 'webhook-id');
  if (!id.ok) return id;
  if (!id.value) return reject('missing-header', 'missing header webhook-id');
  if (id.value.length > MAX_DELIVERY_ID_LENGTH) {
    return reject('invalid-header', `webhook-id is longer than ${MAX_DELIVERY_ID_LENGTH} characters`);
  }
  const timestamp = canonicalTimestamp(input.headers, 'webhook-timestamp', 'seconds');
  if (!timestamp.ok) return timestamp;
  const signatures = exactHeader(input.headers, 'webhook-signature');
  if (!signatures.ok) return signatures;
  if (!signatures.value) return reject('missing-header', 'missing header webhook-signature');
  const timestampMs = timestamp.value * 1000;
  if (!withinTolerance(timestampMs, input.now, input.toleranceSeconds)) {
    return reject(
      'stale-timestamp',
      `webhook-timestamp is more than ${input.toleranceSeconds}s away from the server clock`,
    );
  }
  const expected = hmacSha256(key, [`${id.value}.${timestamp.value}.`, input.rawBody]);
  let matched = false;
  // Every entry is compared (no early exit) so timing does not reveal which one matched.
  for (const entry of signatures.value.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(entry.slice(comma + 1), 'base64');
    if (constantTimeEqual(expected, given)) matched = true;
  }
  if (!matched) return reject('bad-signature', 'no v1 signature in webhook-signature matched');
  return { ok: true, deliveryId: id.value, timestamp: timestampMs };
}
