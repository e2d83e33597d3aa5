/**
 * Slack request signing (v0): `X-Slack-Signature` = `v0=` + hex(HMAC-SHA256(signing secret,
 * `v0:{X-Slack-Request-Timestamp}:{raw body}`)), the timestamp in seconds.
 *
 * @packageDocumentation
 */
import {
  canonicalTimestamp,
  constantTimeEqual,
  digestId,
  exactHeader,
  hmacSha256,
  withinTolerance,
} from './crypto.js';
import { reject, type WebhookVerification } from './types.js';

/**
 * Computes the value Slack puts in `X-Slack-Signature`. Useful for tests.
 *
 * @example
 * ```ts
 * signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, Buffer.from('token=…'));
 * ```
 */
export function signSlackRequest(
  signingSecret: string,
  timestampSeconds: number,
  rawBody: Buffer,
): string {
  return `v0=${hmacSha256(signingSecret, [`v0:${timestampSeconds}:`, rawBody]).toString('hex')}`;
}

/**
 * Verifies a Slack request. Slack sends no delivery id on every request kind, so the delivery id
 * is a digest of the parsed timestamp and the computed signature: every copy of one signed request
 * has the same id, and a timestamp header in any but its canonical spelling is refused.
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
  const signature = exactHeader(input.headers, 'X-Slack-Signature');
  if (!signature.ok) return signature;
  if (!signature.value) return reject('missing-header', 'missing header X-Slack-Signature');
  const timestamp = canonicalTimestamp(input.headers, 'X-Slack-Request-Timestamp', 'seconds');
  if (!timestamp.ok) return timestamp;
  const timestampMs = timestamp.value * 1000;
  if (!withinTolerance(timestampMs, input.now, input.toleranceSeconds)) {
    return reject(
      'stale-timestamp',
      `X-Slack-Request-Timestamp is more than ${input.toleranceSeconds}s away from the server clock`,
    );
  }
  const expected = signSlackRequest(input.secret, timestamp.value, input.rawBody);
  if (!constantTimeEqual(Buffer.from(expected, 'utf8'), Buffer.from(signature.value, 'utf8'))) {
    return reject('bad-signature', 'X-Slack-Signature did not match');
  }
  return {
    ok: true,
    deliveryId: digestId('slack', [String(timestamp.value), expected]),
    timestamp: timestampMs,
  };
}
