/**
 * Retrying one remote call inside a plugin: exponential backoff with full jitter on
 * {@link RetryableError}, never sooner than the remote side's `retryAfterMs`, on the injected
 * {@link Clock} and stopped at once by the {@link AbortSignal}. What is transient is the caller's
 * decision: its `mapError` turns SDK errors into the error family first.
 *
 * @packageDocumentation
 */
import type { Clock } from './context.js';
import { RetryableError, toError } from './errors.js';

/** How often and how long to retry. */
export interface BackoffSettings {
  /** Total tries including the first. */
  maxAttempts: number;
  /** Ceiling of the first wait; doubles each retry. */
  baseDelayMs: number;
  /** Largest wait; an error asking for longer (`retryAfterMs`) is handed up instead. */
  maxDelayMs: number;
}

/** Options of {@link retryWithBackoff}. */
export interface RetryWithBackoffOptions extends BackoffSettings {
  clock: Clock;
  /** Stops waiting and retrying at once; the call rejects with the signal's reason. */
  signal: AbortSignal;
  /** Maps what the operation threw onto the error family (only `RetryableError`s are retried). Default: as is. */
  mapError?: (error: unknown) => Error;
  /** Called before each wait, e.g. to log and count retries. */
  onRetry?: (error: RetryableError, attempt: number, waitMs: number) => void;
  /** Source of jitter in `[0, 1)`. Default `Math.random`. */
  random?: () => number;
}

/**
 * Runs `operation` until it succeeds, throws a non-retryable error, or `maxAttempts` is reached.
 * Between tries it waits a uniformly random time up to `min(maxDelayMs, baseDelayMs * 2^(n-1))`
 * (full jitter), but at least the error's `retryAfterMs`; an error whose `retryAfterMs` exceeds
 * `maxDelayMs` is thrown at once, so the engine can reschedule instead of holding a slot.
 *
 * @example
 * ```ts
 * import { retryWithBackoff } from '@sluice/core';
 *
 * const page = await retryWithBackoff(() => api.fetchPage(token), {
 *   maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 30_000,
 *   clock: ctx.clock, signal,
 *   mapError: (e) => mapApiError(e, 'reading page 2'),
 *   onRetry: (err, attempt, waitMs) => ctx.logger.warn({ attempt, waitMs, err: err.message }, 'retrying'),
 * });
 * ```
 */
export async function retryWithBackoff<T>(operation: (attempt: number) => Promise<T>, options: RetryWithBackoffOptions): Promise<T> {
  const { maxAttempts, baseDelayMs, maxDelayMs, clock, signal, mapError = toError, onRetry, random = Math.random } = options;
  for (let n = 1; ; n++) {
    signal.throwIfAborted();
    try {
      return await abortable(operation(n), signal);
    } catch (raw) {
      if (signal.aborted) throw signal.reason;
      const error = mapError(raw);
      if (!(error instanceof RetryableError) || n >= maxAttempts) throw error;
      const retryAfterMs = error.retryAfterMs ?? 0;
      const backoff = random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
      const wait = Math.min(Math.max(backoff, retryAfterMs), Math.max(maxDelayMs, retryAfterMs));
      // A wait longer than the retry budget allows is the engine's job: hand the error up.
      if (wait > maxDelayMs) throw error;
      onRetry?.(error, n, wait);
      await clock.sleep(wait, signal);
    }
  }
}

/**
 * Resolves like `promise`, or rejects with the signal's reason as soon as it aborts (for SDK
 * calls that take no signal: the call keeps running in the background and its result, or its
 * error, is ignored).
 *
 * @example
 * ```ts
 * import { abortable } from '@sluice/core';
 *
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
