/**
 * Maps what the HubSpot SDK throws to the Sluice error family, so the engine knows whether to
 * back off, give up or ask the user to fix something.
 *
 * The SDK throws `ApiException { code, body, headers }`. Its error model keeps `message`,
 * `category` and `errors` but drops `policyName`, so a 429's policy is recognised from the
 * message HubSpot sends with it ("You have reached your daily limit.") and from the
 * `X-HubSpot-RateLimit-Daily-Remaining` header.
 */
import { FatalError, RetryableError, parseRetryAfter, type JsonValue } from '@sluice/core';
import { findBlockedAddressError } from '@sluice/core/net';

/** What the connector was doing when a call failed; used in every error message. */
export interface CallDescription {
  /** e.g. `list contacts (after=1200)` */
  what: string;
  objectType: string;
}

/** The shape of the SDK's `ApiException`, checked structurally (no instanceof across module copies). */
interface ApiExceptionLike {
  code: number;
  body?:
    | { message?: unknown; category?: unknown; errors?: unknown; policyName?: unknown }
    | string
    | null;
  headers?: Record<string, string>;
}

/** The rate-limit policy of a 429. */
export type RateLimitPolicy = 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY';

function isApiException(error: unknown): error is ApiExceptionLike {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'number' &&
    'body' in error &&
    'headers' in error
  );
}

function bodyMessage(error: ApiExceptionLike): string {
  const body = error.body;
  if (typeof body === 'string') return body.slice(0, 300);
  if (body && typeof body.message === 'string') return body.message;
  return `HTTP ${error.code}`;
}

function header(error: ApiExceptionLike, name: string): string | undefined {
  const headers = error.headers ?? {};
  const found = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return found === undefined ? undefined : headers[found];
}

/** Which rate-limit policy a 429 hit. */
export function rateLimitPolicyOf(error: ApiExceptionLike): RateLimitPolicy {
  const body = typeof error.body === 'object' && error.body !== null ? error.body : {};
  if (body.policyName === 'DAILY') return 'DAILY';
  const message = bodyMessage(error).toLowerCase();
  if (message.includes('daily')) return 'DAILY';
  if (header(error, 'x-hubspot-ratelimit-daily-remaining') === '0') return 'DAILY';
  if (
    body.policyName === 'SECONDLY' ||
    (message.includes('secondly limit') && !message.includes('ten_secondly'))
  )
    return 'SECONDLY';
  return 'TEN_SECONDLY_ROLLING';
}

/** A 429 the connector may wait out itself (everything but the daily limit). */
export function isShortRateLimit(error: unknown): error is ApiExceptionLike {
  return isApiException(error) && error.code === 429 && rateLimitPolicyOf(error) !== 'DAILY';
}

/** How long HubSpot asked to wait, when it said so (`Retry-After`; the SDK itself ignores it). */
export function retryAfterOf(error: unknown): number | undefined {
  return isApiException(error) ? parseRetryAfter(header(error, 'retry-after')) : undefined;
}

function requiredScopes(error: ApiExceptionLike): string[] {
  const body = typeof error.body === 'object' && error.body !== null ? error.body : {};
  const errors = Array.isArray(body.errors) ? body.errors : [];
  const scopes: string[] = [];
  for (const detail of errors) {
    const context = (detail as { context?: Record<string, unknown> } | null)?.context ?? {};
    for (const key of ['requiredGranularScopes', 'requiredScopes']) {
      const list = context[key];
      if (Array.isArray(list)) scopes.push(...list.map(String));
    }
  }
  return [...new Set(scopes)];
}

/** The scope HubSpot requires to read an object type, for messages. */
export function readScopeOf(objectType: string): string {
  if (objectType === 'tickets') return 'tickets';
  if (['contacts', 'companies', 'deals'].includes(objectType))
    return `crm.objects.${objectType}.read`;
  return 'crm.objects.custom.read';
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * Turns anything a HubSpot call threw into a `RetryableError` or `FatalError` whose message
 * says what failed and what to do.
 *
 * @example
 * ```ts
 * try { await client.crm.objects.basicApi.getPage('contacts', 100); }
 * catch (err) { throw toSluiceError(err, { what: 'list contacts', objectType: 'contacts' }); }
 * ```
 */
export function toSluiceError(error: unknown, call: CallDescription): RetryableError | FatalError {
  // The outgoing-connection guard refused basePath's address: fatal, never retried.
  const blocked = findBlockedAddressError(error);
  if (blocked) return blocked.forField('basePath');
  if (error instanceof RetryableError || error instanceof FatalError) return error;
  if (isApiException(error)) {
    const status = error.code;
    const message = bodyMessage(error);
    const details: Record<string, JsonValue> = { status, call: call.what };
    if (status === 401) {
      return new FatalError(
        `HubSpot rejected the access token while trying to ${call.what} (401: ${message}). ` +
          'Check that accessToken is a valid private app token or an unexpired OAuth token for the right HubSpot account.',
        { cause: error, details },
      );
    }
    if (status === 403) {
      const scopes = requiredScopes(error);
      const needed = scopes.length > 0 ? scopes.join(', ') : readScopeOf(call.objectType);
      return new FatalError(
        `HubSpot refused to ${call.what} (403: ${message}). Grant the app the scope(s) ${needed} ` +
          '(Settings → Integrations → Private apps → Scopes) and try again.',
        { cause: error, details: { ...details, requiredScopes: needed } },
      );
    }
    if (status === 429) {
      const policy = rateLimitPolicyOf(error);
      if (policy === 'DAILY') {
        return new FatalError(
          `HubSpot daily API limit reached while trying to ${call.what}; it resets at midnight in the HubSpot account's time zone. ` +
            'The run stops here and the next run resumes from the last committed checkpoint.',
          { cause: error, details: { ...details, policyName: policy } },
        );
      }
      return new RetryableError(
        `HubSpot rate limit (${policy}) hit while trying to ${call.what}: ${message}`,
        {
          cause: error,
          retryAfterMs:
            retryAfterOf(error) ??
            Number(header(error, 'x-hubspot-ratelimit-interval-milliseconds') ?? 10_000),
          details: { ...details, policyName: policy },
        },
      );
    }
    if (status >= 500 || status === 408) {
      return new RetryableError(
        `HubSpot failed to ${call.what} (${status}: ${message}); retrying later may help.`,
        {
          cause: error,
          retryAfterMs: retryAfterOf(error),
          details,
        },
      );
    }
    if (status === 404 || status === 400) {
      return new FatalError(
        `HubSpot rejected the request to ${call.what} (${status}: ${message}). Check the object type "${call.objectType}" and the property names in the config.`,
        { cause: error, details },
      );
    }
    return new FatalError(`HubSpot answered ${status} to ${call.what}: ${message}`, {
      cause: error,
      details,
    });
  }
  if (error instanceof SyntaxError) {
    return new RetryableError(
      `HubSpot sent a response that is not valid JSON to ${call.what}: ${error.message}`,
      {
        cause: error,
        details: { call: call.what },
      },
    );
  }
  const code = networkCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return new RetryableError(
    `Could not reach HubSpot to ${call.what}${code ? ` (${code})` : ''}: ${message}`,
    {
      cause: error,
      details: { call: call.what, ...(code ? { errorCode: code } : {}) },
    },
  );
}
