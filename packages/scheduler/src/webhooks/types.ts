/**
 * Shapes shared by the webhook signature schemes.
 *
 * @packageDocumentation
 */

/** The signature schemes {@link verifyWebhook} understands. */
export type WebhookScheme = 'standard-webhooks' | 'hubspot-v3' | 'slack' | 'none';

/** Every {@link WebhookScheme}, in documentation order. */
export const WEBHOOK_SCHEMES: readonly WebhookScheme[] = [
  'standard-webhooks',
  'hubspot-v3',
  'slack',
  'none',
];

/** Request headers as Node and Fastify give them: lower- or mixed-case names, string or list values. */
export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * One inbound webhook request, exactly as it arrived: the signature covers the raw bytes, so the
 * body must not have been parsed and re-serialised.
 */
export interface WebhookRequest {
  scheme: WebhookScheme;
  /** The shared secret (Standard Webhooks: `whsec_<base64>`; HubSpot: the app's client secret; Slack: the signing secret). Ignored by `none`. */
  secret?: string | undefined;
  headers: WebhookHeaders;
  rawBody: Buffer;
  /** HTTP method; HubSpot v3 signs it. Default `POST`. */
  method?: string | undefined;
  /** The full URL the sender called (`https://host/webhooks/daily?x=1`); HubSpot v3 signs it. */
  url?: string | undefined;
  /** Milliseconds since the epoch; default `Date.now()`. */
  now?: number | undefined;
  /** Accepted clock difference in both directions, in seconds. Default 300 (5 minutes). */
  toleranceSeconds?: number | undefined;
}

/**
 * Why a webhook was rejected; stable strings for logs and metrics. A replayed delivery is not a
 * rejection: `Scheduler.handleWebhook` answers it 200 with the run of the first copy.
 */
export type WebhookRejection =
  | 'missing-secret'
  | 'missing-header'
  | 'invalid-header'
  | 'invalid-secret'
  | 'stale-timestamp'
  | 'bad-signature'
  | 'too-large'
  | 'invalid-payload'
  | 'unknown-scheme';

/** The outcome of {@link verifyWebhook}. */
export type WebhookVerification =
  | {
      ok: true;
      /** Identifies this delivery for replay protection: the sender's id when it sends one, else a digest of the signature. */
      deliveryId: string;
      /** When the sender signed it (milliseconds since the epoch), when the scheme carries a timestamp. */
      timestamp?: number;
    }
  | {
      ok: false;
      reason: WebhookRejection;
      /** Human-readable detail, never containing the secret or a signature. */
      message: string;
      /** The HTTP status to answer with (400, 401, 413, 500). */
      status: number;
    };

/** A rejected verification, for the scheme modules. */
export type WebhookFailure = Extract<WebhookVerification, { ok: false }>;

/**
 * Builds a failure result. A signature header that is present but not in its one canonical form
 * (`invalid-header`) is 401 like a bad signature: the request cannot be authenticated. A missing
 * header is 400: the sender does not speak the scheme at all.
 *
 * @example
 * ```ts
 * return reject('bad-signature', 'no signature matched');
 * ```
 */
export function reject(reason: WebhookRejection, message: string): WebhookFailure {
  const status =
    reason === 'too-large'
      ? 413
      : reason === 'missing-header' || reason === 'invalid-payload'
        ? 400
        : reason === 'missing-secret' || reason === 'unknown-scheme'
          ? 500
          : 401;
  return { ok: false, reason, message, status };
}
