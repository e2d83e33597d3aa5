import { FatalError, RetryableError, SluiceError, toError } from '@sluice/core';
import { msUntilMidnight, msUntilNextHour } from './dates.js';

/** gRPC status codes google-gax reports (REST errors are mapped onto them). */
const Code = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** Wait after "concurrent requests" exhaustion: requests in flight finish within seconds. */
export const CONCURRENCY_RETRY_MS = 5_000;

/**
 * Maps a `@google-analytics/data` (google-gax) error to the Sluice error family. Quota exhaustion
 * (429 `RESOURCE_EXHAUSTED`) becomes a {@link RetryableError} whose `retryAfterMs` reaches the
 * window's refill (next hour, or midnight in the property's time zone for the daily quota);
 * 5xx, timeouts and network failures are retryable; bad credentials, missing access and invalid
 * requests are a {@link FatalError} saying what to fix.
 *
 * @example
 * ```ts
 * try { await client.runReport(request); } catch (err) { throw mapGa4Error(err, 'reading rows 0-9999', { now: Date.now(), timeZone }); }
 * ```
 */
export function mapGa4Error(
  error: unknown,
  what: string,
  at: { now: number; timeZone: string; propertyId: string },
): SluiceError {
  if (error instanceof SluiceError) return error;
  const err = error as { code?: number | string; details?: string };
  const message = toError(error).message;
  const code = typeof err.code === 'number' ? err.code : undefined;
  const details = { operation: what, ...(code === undefined ? {} : { grpcCode: code }) };
  const text = (s: string) => `GA4 ${s} while ${what}: ${message}`;
  switch (code) {
    case Code.RESOURCE_EXHAUSTED: {
      const retryAfterMs = /per day|tomorrow/i.test(message)
        ? msUntilMidnight(at.now, at.timeZone)
        : /per hour|next hour|per project/i.test(message)
          ? msUntilNextHour(at.now)
          : CONCURRENCY_RETRY_MS;
      return new RetryableError(text('quota exhausted'), { cause: error, details, retryAfterMs });
    }
    case Code.UNAUTHENTICATED:
      return new FatalError(
        text(
          'rejected the credentials (check credentials: the access token may have expired or the service account key was revoked)',
        ),
        { cause: error, details },
      );
    case Code.PERMISSION_DENIED:
      return new FatalError(
        text(
          `denied access to property ${at.propertyId} (check propertyId and add the account as a Viewer of the property in GA4 Admin > Property access management)`,
        ),
        { cause: error, details },
      );
    case Code.INVALID_ARGUMENT:
    case Code.FAILED_PRECONDITION:
      return new FatalError(
        text('rejected the report request (check dimensions, metrics, filters and dates)'),
        { cause: error, details },
      );
    case Code.NOT_FOUND:
      return new FatalError(text('could not find the property'), { cause: error, details });
    case Code.UNAVAILABLE:
    case Code.INTERNAL:
    case Code.DEADLINE_EXCEEDED:
    case Code.ABORTED:
      return new RetryableError(text('is temporarily failing'), { cause: error, details });
    default:
      if (error instanceof SyntaxError || /JSON/.test(message)) {
        return new FatalError(
          `GA4 returned a response that is not valid JSON while ${what}: ${message}`,
          { cause: error, details },
        );
      }
      // No status at all is a network-level failure more often than not.
      return new RetryableError(text('request failed'), { cause: error, details });
  }
}
