/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver verifies
 * `webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>` with the
 * shared `whsec_` secret, rejects old timestamps, and de-duplicates on `webhook-id`.
 *
 * @packageDocumentation
 */
import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';

/**
 * Tells what is wrong with a Standard Webhooks secret, or `undefined` when it is usable.
 *
 * @example
 * ```ts
 * signingSecretProblem('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'); // undefined
 * signingSecretProblem('hunter2');                                 // "must start with whsec_ …"
 * ```
 */
export function signingSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith(PREFIX)) return 'must start with "whsec_" followed by base64 key bytes';
  const encoded = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 === 1) {
    return 'the part after "whsec_" must be base64';
  }
  if (Buffer.from(encoded, 'base64').length < 16)
    return 'the key must be at least 16 bytes (128 bits)';
  return undefined;
}

/** Produces the three Standard Webhooks headers for one request. */
export interface WebhookSigner {
  sign(
    id: string,
    timestampSeconds: number,
    body: string,
  ): {
    'webhook-id': string;
    'webhook-timestamp': string;
    'webhook-signature': string;
  };
}

/**
 * Creates a signer from a `whsec_` secret; throws a `TypeError` for an invalid secret.
 *
 * @example
 * ```ts
 * const signer = createWebhookSigner('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
 * signer.sign('msg_1', 1700000000, '{"a":1}')['webhook-signature']; // "v1,…"
 * ```
 */
export function createWebhookSigner(secret: string): WebhookSigner {
  const problem = signingSecretProblem(secret);
  if (problem) throw new TypeError(`signing.secret ${problem}`);
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  return {
    sign(id, timestampSeconds, body) {
      const timestamp = String(Math.floor(timestampSeconds));
      const digest = createHmac('sha256', key)
        .update(`${id}.${timestamp}.${body}`)
        .digest('base64');
      return {
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': `v1,${digest}`,
      };
    },
  };
}
