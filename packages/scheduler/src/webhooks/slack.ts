/**
 * Slack request signing (v0): `X-Slack-Signature` = `v0=` + hex(HMAC-SHA256(signing secret,
 * `v0:{X-Slack-Request-Timestamp}:{raw body}`)), the timestamp in seconds.
 *
 * @packageDocumentation
 */
import { constantTimeEqual, digestId, header, hmacSha256, withinTolerance } from './crypto.js';
import { reject, type WebhookVerification } from './types.js';

/**
 * Computes the value Slack puts in `X-Slack-Signature`. Useful for tests.
 *
 * @example
 * ```ts
 * signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, Buffer.from('token=…'));
 * ```
 */
export function signSlackRequest(signingSecret: string, timestampSeconds: number, rawBody: Buffer): string {
  return `v0=${hmacSha256(signingSecret, [`v0:${timestampSeconds}:`, rawBody]).toString('hex')}`;
}

/**
 * Verifies a Slack request. Slack sends no delivery id on every request kind, so the delivery id
 * is a digest of the timestamp and signature.
 *
 * @example
 * ```ts
 * verifySlackRequest({ secret, headers, rawBody, now: Date.now(), toleranceSeconds: 300 });
 * ```
 */
export function verifySlackRequest(input: {
  secret: string;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  rawBody: Buffer;
  now: number;
  toleranceSeconds: number;
}): WebhookVerification {
  const signature = header(input.headers, 'x-slack-signature');
  const timestamp = header(input.headers, 'x-slack-request-timestamp');
  if (!signature) return reject('missing-header', 'missing header X-Slack-Signature');
  if (!timestamp) return reject('missing-header', 'missing header X-Slack-Request-Timestamp');
  if (!/^\d{1,12}$/.test(timestamp)) {
    return reject('invalid-header', 'X-Slack-Request-Timestamp must be whole seconds since the epoch');
  }
  const timestampMs = Number(timestamp) * 1000;
  if (!withinTolerance(timestampMs, input.now, input.toleranceSeconds)) {
    return reject(
      'stale-timestamp',
      `X-Slack-Request-Timestamp is more than ${input.toleranceSeconds}s away from the server clock`,
    );
  }
  const expected = Buffer.from(signSlackRequest(input.secret, Number(timestamp), input.rawBody), 'utf8');
  if (!constantTimeEqual(expected, Buffer.from(signature, 'utf8'))) {
    return reject('bad-signature', 'X-Slack-Signature did not match');
  }
  return { ok: true, deliveryId: digestId('slack', [timestamp, signature]), timestamp: timestampMs };
}
