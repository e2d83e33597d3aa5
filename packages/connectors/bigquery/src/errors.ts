import { FatalError, RetryableError, SluiceError, parseRetryAfter, toError } from '@sluice/core';

/** What the SDK's `ApiError` carries (typed structurally so no SDK internals are imported). */
interface ApiErrorLike {
  code?: number | string;
  message?: string;
  errors?: { reason?: string; message?: string }[];
  response?: { headers?: Record<string, string | string[] | undefined> };
}

const RETRYABLE_REASONS = new Set([
  'rateLimitExceeded',
  'jobRateLimitExceeded',
  'backendError',
  'internalError',
  'jobBackendError',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** Default wait after `quotaExceeded` when BigQuery gives no `Retry-After`: quotas refill by the minute. */
export const QUOTA_RETRY_MS = 60_000;

/**
 * Maps an error of `@google-cloud/bigquery` to the Sluice error family:
 * rate limits, quota, 408/429/5xx and network failures become a {@link RetryableError} (with
 * `retryAfterMs` from `Retry-After`, or a minute for quota); bad credentials, missing permission,
 * invalid queries, unknown tables and `maximumBytesBilled` overruns become a {@link FatalError}
 * whose message says what to fix. `what` names the operation (`reading page 3`).
 *
 * @example
 * ```ts
 * try { await job.getQueryResults(options); } catch (err) { throw mapBigQueryError(err, 'reading page 2'); }
 * ```
 */
export function mapBigQueryError(error: unknown, what: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const err = error as ApiErrorLike;
  const reasons = (err.errors ?? []).map((e) => e.reason ?? '');
  const status = typeof err.code === 'number' ? err.code : undefined;
  const message = toError(error).message;
  const retryAfterMs = parseRetryAfter(err.response?.headers?.['retry-after']);
  const details = {
    operation: what,
    ...(status === undefined ? {} : { status }),
    ...(reasons.length > 0 ? { reasons } : {}),
  };
  const retryable = (text: string, fallbackMs?: number) =>
    new RetryableError(`BigQuery ${text} while ${what}: ${message}`, {
      cause: error,
      details,
      ...((retryAfterMs ?? fallbackMs) !== undefined
        ? { retryAfterMs: (retryAfterMs ?? fallbackMs)! }
        : {}),
    });
  const fatal = (text: string) =>
    new FatalError(`BigQuery ${text} while ${what}: ${message}`, { cause: error, details });

  if (reasons.includes('quotaExceeded')) return retryable('quota exceeded', QUOTA_RETRY_MS);
  if (reasons.some((r) => RETRYABLE_REASONS.has(r)))
    return retryable(
      reasons.includes('rateLimitExceeded') ? 'rate limit exceeded' : 'backend error',
    );
  if (status === 401 || reasons.includes('authError')) {
    return fatal(
      'rejected the credentials (check credentials: the access token may have expired or the service account key was revoked)',
    );
  }
  if (reasons.includes('bytesBilledLimitExceeded'))
    return fatal(
      'refused the query because it would bill more than maximumBytesBilled (raise the limit or narrow the query)',
    );
  if (status === 403 || reasons.includes('accessDenied')) {
    return fatal(
      'denied access (grant the account roles/bigquery.jobUser on the project and roles/bigquery.dataViewer on the data)',
    );
  }
  if (status === 404 || reasons.includes('notFound'))
    return fatal(
      'could not find a project, dataset, table or job (check projectId, location and the table names in the query)',
    );
  if (status === 400 || reasons.includes('invalidQuery') || reasons.includes('invalid'))
    return fatal('rejected the query');
  if (status === 408 || status === 429 || (status !== undefined && status >= 500))
    return retryable(`answered HTTP ${status}`);
  if (typeof err.code === 'string' && NETWORK_CODES.has(err.code))
    return retryable('was unreachable');
  if (error instanceof SyntaxError || /JSON/i.test(message)) {
    return new FatalError(
      `BigQuery returned a response that is not valid JSON while ${what}: ${message}`,
      { cause: error, details },
    );
  }
  if (status !== undefined) return fatal(`failed with HTTP ${status}`);
  // Unknown failures without an HTTP status are network-level more often than not.
  return retryable('request failed');
}
