import { RetryableError, type Clock } from '@sluice/core';

/** Retry settings of one request. */
export interface RetrySettings {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Runs `attempt` until it succeeds, it throws a non-retryable error, or `maxAttempts` is reached;
 * waits exponential backoff with full jitter, at least the error's `retryAfterMs`. Errors are
 * mapped by `map` first, so the caller decides what is transient. Stops at once on abort.
 *
 * @example
 * ```ts
 * const page = await withRetry(() => fetchPage(token), (e) => mapBigQueryError(e, 'reading page 2'), settings, clock, signal);
 * ```
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  map: (error: unknown) => Error,
  settings: RetrySettings,
  clock: Clock,
  signal: AbortSignal,
  onRetry?: (error: RetryableError, attempt: number, waitMs: number) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    signal.throwIfAborted();
    try {
      return await abortable(attempt(), signal);
    } catch (raw) {
      if (signal.aborted) throw signal.reason;
      const error = map(raw);
      if (!(error instanceof RetryableError) || n >= settings.maxAttempts) throw error;
      const backoff = Math.random() * Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (n - 1));
      const wait = Math.min(Math.max(backoff, error.retryAfterMs ?? 0), Math.max(settings.maxDelayMs, error.retryAfterMs ?? 0));
      // A wait longer than the retry budget allows is the engine's job: hand the error up.
      if (wait > settings.maxDelayMs) throw error;
      onRetry?.(error, n, wait);
      await clock.sleep(wait, signal);
    }
  }
}

/**
 * Resolves like `promise`, or rejects with the signal's reason as soon as it aborts (the SDK
 * call keeps running in the background and its result is ignored).
 *
 * @example
 * ```ts
 * const [rows] = await abortable(job.getQueryResults(options), signal);
 * ```
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
