/**
 * The Standard Webhooks secret format, in one place: the receiver (the scheduler's verifier) and
 * the configuration's validation decode a `whsec_` secret the same way, so a secret `sluice
 * validate` accepts is one every delivery can be verified with.
 *
 * @packageDocumentation
 */

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Decodes a Standard Webhooks secret (`whsec_<base64>`, or the bare base64) into key bytes.
 * Returns `undefined` when it is not base64.
 *
 * @example
 * ```ts
 * decodeStandardWebhooksSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')?.length; // 24
 * decodeStandardWebhooksSecret('whsec_not base64!');                            // undefined
 * ```
 */
export function decodeStandardWebhooksSecret(secret: string): Buffer | undefined {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || encoded.length % 4 !== 0 || !BASE64.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64');
}
