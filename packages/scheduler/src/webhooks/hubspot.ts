/**
 * HubSpot's v3 request signature: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret,
 * method + URI + raw body + `X-HubSpot-Request-Timestamp`)), the timestamp in milliseconds.
 * HubSpot signs the URI with some percent-escapes decoded (see {@link hubspotSignedUri}).
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

// HubSpot decodes exactly these escapes before signing ("Validating requests", v3).
const DECODED: Readonly<Record<string, string>> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

/**
 * The URI as HubSpot signs it: the listed percent-escapes decoded, everything else unchanged.
 *
 * @example
 * ```ts
 * hubspotSignedUri('https://example.com/hook?x=a%3Ab'); // 'https://example.com/hook?x=a:b'
 * ```
 */
export function hubspotSignedUri(url: string): string {
  return url.replace(
    /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi,
    (m) => DECODED[m.toUpperCase()] ?? m,
  );
}

/**
 * Computes the value HubSpot puts in `X-HubSpot-Signature-v3`. Useful for tests.
 *
 * @example
 * ```ts
 * signHubSpotV3('client-secret', 'POST', 'https://example.com/webhooks/crm', Buffer.from('[]'), Date.now());
 * ```
 */
export function signHubSpotV3(
  clientSecret: string,
  method: string,
  url: string,
  rawBody: Buffer,
  timestampMs: number,
): string {
  return hmacSha256(clientSecret, [
    method.toUpperCase(),
    hubspotSignedUri(url),
    rawBody,
    String(timestampMs),
  ]).toString('base64');
}

/**
 * Verifies a HubSpot v3 request. HubSpot sends no delivery id, so the delivery id is a digest of
 * the parsed timestamp and the computed signature: every copy of one signed request has the same
 * id, and a timestamp header in any but its canonical spelling is refused.
 *
 * @example
 * ```ts
 * verifyHubSpotV3({ secret, headers, rawBody, method: 'POST', url, now: Date.now(), toleranceSeconds: 300 });
 * ```
 */
export function verifyHubSpotV3(input: {
  secret: string;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  rawBody: Buffer;
  method: string;
  url: string | undefined;
  now: number;
  toleranceSeconds: number;
}): WebhookVerification {
  if (!input.url)
    return reject('invalid-header', 'HubSpot v3 signs the full request URL: pass url');
  const signature = exactHeader(input.headers, 'X-HubSpot-Signature-v3');
  if (!signature.ok) return signature;
  if (!signature.value) return reject('missing-header', 'missing header X-HubSpot-Signature-v3');
  const timestamp = canonicalTimestamp(
    input.headers,
    'X-HubSpot-Request-Timestamp',
    'milliseconds',
  );
  if (!timestamp.ok) return timestamp;
  const timestampMs = timestamp.value;
  if (!withinTolerance(timestampMs, input.now, input.toleranceSeconds)) {
    return reject(
      'stale-timestamp',
      `X-HubSpot-Request-Timestamp is more than ${input.toleranceSeconds}s away from the server clock`,
    );
  }
  const expected = signHubSpotV3(input.secret, input.method, input.url, input.rawBody, timestampMs);
  if (!constantTimeEqual(Buffer.from(expected, 'utf8'), Buffer.from(signature.value, 'utf8'))) {
    return reject('bad-signature', 'X-HubSpot-Signature-v3 did not match');
  }
  return {
    ok: true,
    deliveryId: digestId('hubspot', [String(timestampMs), expected]),
    timestamp: timestampMs,
  };
}
