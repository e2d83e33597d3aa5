/**
 * The one backoff policy of Sluice (DESIGN §4, §11): its shape, its defaults, the delay formula
 * (exponential backoff with full jitter, never sooner than the remote side's `Retry-After`) and
 * the retry helper built on it. The router retries batches with it, the scheduler failed runs,
 * and plugins (BigQuery, GA4, HubSpot) single remote calls.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import type { Clock } from './context.js';
import { RetryableError, toError } from './errors.js';

/**
 * How often and how long to retry; configs write it under `retry` (destinations, pipelines,
 * connectors).
 *
 * @example
 * ```ts
 * const policy: BackoffPolicy = { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 30_000, multiplier: 2 };
 * ```
 */
export interface BackoffPolicy {
  /** Total tries including the first. */
  maxAttempts: number;
  /** Ceiling of the first wait. */
  initialDelayMs: number;
  /** Ceiling of every wait; a remote side may still ask for longer (`Retry-After`). */
  maxDelayMs: number;
  /** Growth of the ceiling per retry. */
  multiplier: number;
}

/**
 * The defaults of every retry in Sluice, by what is retried. `@sluice/config` lists them with
 * the other configuration defaults (`DEFAULTS.deliveryRetry`, `DEFAULTS.runRetry`); they live
 * here because the router and the scheduler may import only core.
 *
 * @example
 * ```ts
 * resolveBackoffPolicy({ maxAttempts: 3 }, RETRY_DEFAULTS.delivery).initialDelayMs; // 200
 * ```
 */
export const RETRY_DEFAULTS = Object.freeze({
  /** A destination's failed batch (the router): 5 tries, 200 ms doubling up to 30 s. */
  delivery: Object.freeze({
    maxAttempts: 5,
    initialDelayMs: 200,
    maxDelayMs: 30_000,
    multiplier: 2,
  }),
  /** A failed run, when its pipeline has a `retry` (the scheduler): 3 tries, 1 s doubling up to 60 s. */
  run: Object.freeze({ maxAttempts: 3, initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 2 }),
  /** One remote call inside a connector (BigQuery, GA4): 5 tries, 1 s doubling up to 60 s. */
  request: Object.freeze({
    maxAttempts: 5,
    initialDelayMs: 1_000,
    maxDelayMs: 60_000,
    multiplier: 2,
  }),
} satisfies Record<string, Readonly<BackoffPolicy>>);

/**
 * The valibot schema of a plugin's `retry` option: the {@link BackoffPolicy} keys, each optional
 * with its value in `defaults`, the whole option optional. `baseDelayMs`, the spelling the
 * BigQuery and GA4 connectors took before, is still read as `initialDelayMs` (deprecated).
 *
 * @example
 * ```ts
 * const configSchema = v.object({ retry: backoffPolicySchema(RETRY_DEFAULTS.request, 'one API request', { maxAttempts: 20 }) });
 * v.parse(configSchema, { retry: { maxAttempts: 3 } }).retry; // { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 60000, multiplier: 2 }
 * ```
 */
export function backoffPolicySchema(
  defaults: Readonly<BackoffPolicy>,
  what: string,
  limits: { maxAttempts?: number } = {},
) {
  const delay = v.pipe(v.number(), v.minValue(0));
  const attempts = v.pipe(
    v.number(),
    v.integer(),
    v.minValue(1),
    v.maxValue(limits.maxAttempts ?? Number.MAX_SAFE_INTEGER),
  );
  return v.optional(
    v.pipe(
      v.object({
        maxAttempts: v.optional(
          v.pipe(attempts, v.description(`Tries of ${what}, including the first.`)),
          defaults.maxAttempts,
        ),
        initialDelayMs: v.optional(
          v.pipe(
            delay,
            v.description(
              `Ceiling of the first retry's delay; grows by \`multiplier\` on each retry (full jitter). Absent: ${defaults.initialDelayMs}.`,
            ),
          ),
        ),
        /** @deprecated The earlier spelling of `initialDelayMs`. */
        baseDelayMs: v.optional(
          v.pipe(
            delay,
            v.description('Deprecated spelling of `initialDelayMs`, read when that is absent.'),
          ),
        ),
        maxDelayMs: v.optional(
          v.pipe(
            delay,
            v.description(
              'Upper bound of a retry delay; a longer `Retry-After` hands the failure to the engine.',
            ),
          ),
          defaults.maxDelayMs,
        ),
        multiplier: v.optional(
          v.pipe(v.number(), v.minValue(1), v.description('Growth factor of the delay per retry.')),
          defaults.multiplier,
        ),
      }),
      // Before the transform: JSON Schema export stops at a transform.
      v.description(
        `Retries in place of ${what} after a transient failure: exponential backoff with full jitter, honouring Retry-After.`,
      ),
      v.transform(({ baseDelayMs, initialDelayMs, ...policy }): BackoffPolicy => ({
        ...policy,
        initialDelayMs: initialDelayMs ?? baseDelayMs ?? defaults.initialDelayMs,
      })),
    ),
    {},
  );
}

/**
 * Fills the keys a config left out from `defaults`, and brings nonsense values into range
 * (at least one try, no negative delays, a multiplier of at least 1).
 *
 * @example
 * ```ts
 * resolveBackoffPolicy({ maxAttempts: 3 }, RETRY_DEFAULTS.delivery); // { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 30000, multiplier: 2 }
 * ```
 */
export function resolveBackoffPolicy(
  policy: Partial<BackoffPolicy> | undefined,
  defaults: Readonly<BackoffPolicy>,
): BackoffPolicy {
  const pick = (value: number | undefined, fallback: number, min: number) =>
    value === undefined || !Number.isFinite(value) ? fallback : Math.max(min, value);
  return {
    maxAttempts: Math.floor(pick(policy?.maxAttempts, defaults.maxAttempts, 1)),
    initialDelayMs: pick(policy?.initialDelayMs, defaults.initialDelayMs, 0),
    maxDelayMs: pick(policy?.maxDelayMs, defaults.maxDelayMs, 0),
    multiplier: pick(policy?.multiplier, defaults.multiplier, 1),
  };
}

/**
 * The wait before retry number `attempt` (1 = the wait after the first failure): a uniformly
 * random whole number of milliseconds below `min(maxDelayMs, initialDelayMs * multiplier^(attempt-1))`
 * (full jitter, so the retries of many callers spread out), but never shorter than what the
 * remote side asked for (`retryAfterMs`, from `Retry-After`), which may exceed `maxDelayMs`.
 *
 * @example
 * ```ts
 * backoffDelay(RETRY_DEFAULTS.delivery, 3, undefined, () => 0.5); // 400 (half of 200 * 2^2)
 * backoffDelay(RETRY_DEFAULTS.delivery, 1, 5000, () => 0.5);      // 5000
 * ```
 */
export function backoffDelay(
  policy: Readonly<BackoffPolicy>,
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(
    policy.maxDelayMs,
    policy.initialDelayMs * policy.multiplier ** exponent,
  );
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined || !Number.isFinite(retryAfterMs)
    ? jittered
    : Math.max(jittered, retryAfterMs);
}

/** Options of {@link retryWithBackoff}: the policy (keys left out: {@link RETRY_DEFAULTS}.request) and the run-time parts. */
export interface RetryWithBackoffOptions extends Partial<BackoffPolicy> {
  clock: Clock;
  /** Stops waiting and retrying at once; the call rejects with the signal's reason. */
  signal: AbortSignal;
  /** Maps what the operation threw onto the error family (only `RetryableError`s are retried). Default: as is. */
  mapError?: (error: unknown) => Error;
  /**
   * Whether to retry here, given the mapped error and what the operation threw. Default: the
   * mapped error is a `RetryableError`. A plugin that waits out only some failures itself (and
   * hands the others up to the engine) says which.
   */
  shouldRetry?: (error: Error, raw: unknown) => boolean;
  /** How long the remote side asked to wait. Default: the mapped error's `retryAfterMs`. */
  retryAfterMs?: (error: Error, raw: unknown) => number | undefined;
  /** How to wait before the next try. Default `clock.sleep` (a shared rate limiter may pause instead). */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called before each wait, e.g. to log and count retries. */
  onRetry?: (error: Error, attempt: number, waitMs: number) => void;
  /** Source of jitter in `[0, 1)`. Default `Math.random`. */
  random?: () => number;
}

/**
 * Runs `operation` until it succeeds, throws an error it should not retry, or `maxAttempts` is
 * reached, waiting {@link backoffDelay} between tries. An error whose `retryAfterMs` exceeds
 * `maxDelayMs` is thrown at once, so the engine can reschedule instead of holding a slot.
 *
 * @example
 * ```ts
 * import { retryWithBackoff } from '@sluice/core';
 *
 * const page = await retryWithBackoff(() => api.fetchPage(token), {
 *   maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 30_000,
 *   clock: ctx.clock, signal,
 *   mapError: (e) => mapApiError(e, 'reading page 2'),
 *   onRetry: (err, attempt, waitMs) => ctx.logger.warn({ attempt, waitMs, err: err.message }, 'retrying'),
 * });
 * ```
 */
export async function retryWithBackoff<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryWithBackoffOptions,
): Promise<T> {
  const { clock, signal, mapError = toError, onRetry, random = Math.random } = options;
  const policy = resolveBackoffPolicy(options, RETRY_DEFAULTS.request);
  const shouldRetry = options.shouldRetry ?? ((error: Error) => error instanceof RetryableError);
  const retryAfterOf =
    options.retryAfterMs ??
    ((error: Error) => (error instanceof RetryableError ? error.retryAfterMs : undefined));
  const wait = options.wait ?? ((ms: number, s: AbortSignal) => clock.sleep(ms, s));
  for (let n = 1; ; n++) {
    signal.throwIfAborted();
    try {
      return await abortable(operation(n), signal);
    } catch (raw) {
      if (signal.aborted) throw signal.reason;
      const error = mapError(raw);
      if (n >= policy.maxAttempts || !shouldRetry(error, raw)) throw error;
      const waitMs = backoffDelay(policy, n, retryAfterOf(error, raw), random);
      // A wait longer than the retry budget allows is the engine's job: hand the error up.
      if (waitMs > policy.maxDelayMs) throw error;
      onRetry?.(error, n, waitMs);
      await wait(waitMs, signal);
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
