/**
 * `@sluice/core/standard-webhooks`: the one Standard Webhooks implementation
 * (https://www.standardwebhooks.com, also used by Svix, Resend, Clerk and others), used by the
 * sender (the webhook destination) and the receiver (the scheduler's webhook trigger) alike, so a
 * secret one side accepts is a secret the other accepts and a signature one side makes is one the
 * other verifies. Kept out of the main `@sluice/core` entry (it loads `node:crypto`); it uses
 * only Node built-ins.
 *
 * The scheme: `webhook-id`, `webhook-timestamp` (whole seconds) and `webhook-signature`
 * (`v1,<base64>` entries separated by spaces) over `<id>.<timestamp>.<raw body>`, HMAC-SHA256
 * keyed by the bytes of the shared secret.
 *
 * Secret forms accepted (all of them accepted, with the same key, by the official
 * `standardwebhooks` package, which is laxer about padding and trailing characters):
 * - `whsec_<base64>`: the form senders issue (`whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`);
 * - `<base64>`: the same key without the prefix;
 *
 * where `<base64>` is the standard alphabet (`A-Z a-z 0-9 + /`), with or without its `=` padding
 * (when present, it must make the length a multiple of four; without it, at least four
 * characters), no spaces or line breaks. Refused by sender and receiver alike: URL-safe base64
 * (`-`, `_`), padding that does not end a 4-character group, and a length that leaves one
 * character over (no bytes encode to that; the official package silently drops the character,
 * which would sign with another key than the one written). Signing additionally needs a key of at least
 * {@link MIN_SIGNING_KEY_BYTES} bytes: Sluice picks no weak key for its own signatures, while a
 * receiver takes the key its sender issued.
 *
 * @example
 * ```ts
 * import { createWebhookSigner, verifyStandardWebhook } from '@sluice/core/standard-webhooks';
 *
 * const headers = createWebhookSigner('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').sign('msg_1', 1700000000, '{"a":1}');
 * verifyStandardWebhook({
 *   secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
 *   id: 'msg_1', timestampSeconds: 1700000000, signature: headers['webhook-signature'],
 *   body: '{"a":1}', nowMs: 1700000000_000,
 * }); // { ok: true }
 * ```
 *
 * @packageDocumentation
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The prefix of a Standard Webhooks secret as senders issue it. */
export const STANDARD_WEBHOOKS_SECRET_PREFIX = 'whsec_';

/** The shortest key (in bytes, after base64 decoding) Sluice signs with: 128 bits. */
export const MIN_SIGNING_KEY_BYTES = 16;

/** Accepted clock difference in both directions, in seconds: 5 minutes, as the specification recommends. */
export const DEFAULT_STANDARD_WEBHOOKS_TOLERANCE_SECONDS = 300;

const BASE64 = /^([A-Za-z0-9+/]+)(={0,2})$/;

/** The outcome of {@link parseStandardWebhooksSecret}. */
export type ParsedStandardWebhooksSecret =
  { ok: true; key: Buffer } | { ok: false; problem: string };

/**
 * The one secret parser: decodes `whsec_<base64>` or bare `<base64>` (standard alphabet, padding optional)
 * into key bytes, or says what is wrong. The problem never contains the secret.
 *
 * @example
 * ```ts
 * parseStandardWebhooksSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'); // { ok: true, key: <24 bytes> }
 * parseStandardWebhooksSecret('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');       // the same key
 * parseStandardWebhooksSecret('hunter2').ok;                             // false
 * ```
 */
export function parseStandardWebhooksSecret(secret: string): ParsedStandardWebhooksSecret {
  const encoded = secret.startsWith(STANDARD_WEBHOOKS_SECRET_PREFIX)
    ? secret.slice(STANDARD_WEBHOOKS_SECRET_PREFIX.length)
    : secret;
  const match = BASE64.exec(encoded);
  const valid =
    match !== null &&
    match[1]!.length % 4 !== 1 &&
    // Unpadded text shorter than one 4-character group is refused, as the official package does.
    (match[2]!.length === 0 ? encoded.length >= 4 : encoded.length % 4 === 0);
  if (!valid) {
    return {
      ok: false,
      problem:
        'must be "whsec_" followed by base64 key bytes (standard alphabet; "=" padding optional, but when present it must make the length a multiple of 4), or that base64 alone',
    };
  }
  return { ok: true, key: Buffer.from(encoded, 'base64') };
}

/**
 * What is wrong with a secret to sign with (the parser's rules plus {@link MIN_SIGNING_KEY_BYTES}),
 * or `undefined` when it is usable.
 *
 * @example
 * ```ts
 * signingSecretProblem('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'); // undefined
 * signingSecretProblem('whsec_c2VjcmV0');                          // "the key must be at least 16 bytes (128 bits)"
 * ```
 */
export function signingSecretProblem(secret: string): string | undefined {
  const parsed = parseStandardWebhooksSecret(secret);
  if (!parsed.ok) return parsed.problem;
  if (parsed.key.length < MIN_SIGNING_KEY_BYTES) {
    return `the key must be at least ${MIN_SIGNING_KEY_BYTES} bytes (${MIN_SIGNING_KEY_BYTES * 8} bits)`;
  }
  return undefined;
}

function signatureBytes(
  key: Uint8Array,
  id: string,
  timestamp: string,
  body: string | Uint8Array,
): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

function keyOf(secret: string): Buffer {
  const parsed = parseStandardWebhooksSecret(secret);
  if (!parsed.ok) throw new TypeError(`secret ${parsed.problem}`);
  return parsed.key;
}

/**
 * Computes the `v1,<base64>` value of `webhook-signature` for one message; throws a `TypeError`
 * when the secret is not in an accepted form. The timestamp is signed as whole seconds.
 *
 * @example
 * ```ts
 * signStandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
 * // 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
 * ```
 */
export function signStandardWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): string {
  return `v1,${signatureBytes(keyOf(secret), id, String(Math.floor(timestampSeconds)), body).toString('base64')}`;
}

/** The three headers of one signed request. */
export interface StandardWebhooksHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Produces the three Standard Webhooks headers for one request. */
export interface WebhookSigner {
  sign(id: string, timestampSeconds: number, body: string | Uint8Array): StandardWebhooksHeaders;
}

/**
 * Creates a signer from a secret checked once by {@link signingSecretProblem}; throws a
 * `TypeError` (`signing.secret …`) for a secret it refuses.
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
  const key = keyOf(secret);
  return {
    sign(id, timestampSeconds, body) {
      const timestamp = String(Math.floor(timestampSeconds));
      return {
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': `v1,${signatureBytes(key, id, timestamp, body).toString('base64')}`,
      };
    },
  };
}

/**
 * Compares two byte strings in time that depends only on their lengths, so an attacker cannot
 * learn a signature byte by byte from response times. Different lengths compare unequal (the
 * length of a signature is public).
 *
 * @example
 * ```ts
 * constantTimeEqual(Buffer.from(expected), Buffer.from(given));
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    // Still spend one comparison so the early exit does not stand out.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Why {@link verifyStandardWebhook} refused a message. */
export type StandardWebhooksRejection =
  'invalid-secret' | 'invalid-timestamp' | 'stale-timestamp' | 'bad-signature';

/** The outcome of {@link verifyStandardWebhook}; `message` never contains the secret or a signature. */
export type StandardWebhooksVerification =
  { ok: true } | { ok: false; reason: StandardWebhooksRejection; message: string };

/** What {@link verifyStandardWebhook} checks: the header values as received and the raw body. */
export interface StandardWebhooksMessage {
  /** The shared secret, in one of the accepted forms. */
  secret: string;
  /** `webhook-id`, exactly as received. */
  id: string;
  /**
   * `webhook-timestamp` as a number. Parse the header strictly (only its canonical decimal text):
   * the number is signed as that text, so `0<ts>` would otherwise verify as another delivery.
   */
  timestampSeconds: number;
  /** `webhook-signature`: one or more `v1,<base64>` entries separated by spaces. */
  signature: string;
  /** The raw body, exactly the bytes that were signed. */
  body: string | Uint8Array;
  /** The receiver's clock, milliseconds since the epoch. */
  nowMs: number;
  /** Accepted clock difference in both directions. Default {@link DEFAULT_STANDARD_WEBHOOKS_TOLERANCE_SECONDS}. */
  toleranceSeconds?: number;
}

/**
 * Verifies one Standard Webhooks message: the secret's form, the timestamp within the tolerance
 * (either direction), and at least one `v1` entry of `webhook-signature` matching, compared in
 * constant time. Entries of other versions are skipped.
 *
 * @example
 * ```ts
 * const result = verifyStandardWebhook({ secret, id, timestampSeconds, signature, body: rawBody, nowMs: Date.now() });
 * if (!result.ok) console.log(result.reason); // "bad-signature"
 * ```
 */
export function verifyStandardWebhook(
  message: StandardWebhooksMessage,
): StandardWebhooksVerification {
  const {
    id,
    timestampSeconds,
    nowMs,
    toleranceSeconds = DEFAULT_STANDARD_WEBHOOKS_TOLERANCE_SECONDS,
  } = message;
  const parsed = parseStandardWebhooksSecret(message.secret);
  if (!parsed.ok)
    return { ok: false, reason: 'invalid-secret', message: `the secret ${parsed.problem}` };
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    return {
      ok: false,
      reason: 'invalid-timestamp',
      message: 'webhook-timestamp must be whole seconds since the epoch',
    };
  }
  if (Math.abs(nowMs - timestampSeconds * 1000) > toleranceSeconds * 1000) {
    return {
      ok: false,
      reason: 'stale-timestamp',
      message: `webhook-timestamp is more than ${toleranceSeconds}s away from the server clock`,
    };
  }
  const expected = signatureBytes(parsed.key, id, String(timestampSeconds), message.body);
  let matched = false;
  // Every entry is compared (no early exit) so timing does not reveal which one matched.
  for (const entry of message.signature.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    if (constantTimeEqual(expected, Buffer.from(entry.slice(comma + 1), 'base64'))) matched = true;
  }
  if (!matched)
    return {
      ok: false,
      reason: 'bad-signature',
      message: 'no v1 signature in webhook-signature matched',
    };
  return { ok: true };
}
