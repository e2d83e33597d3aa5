import type { RetryPolicy } from '@sluice/core';

/** Retry settings with every default filled in. */
export interface ResolvedRetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
}

/** Defaults: 5 tries, 200 ms doubling up to 30 s. */
export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 200,
  maxDelayMs: 30_000,
  multiplier: 2,
};

/**
 * Fills in the defaults of a retry policy and rejects nonsense values.
 *
 * @example
 * ```ts
 * resolveRetryPolicy({ maxAttempts: 3 }).initialDelayMs; // 200
 * ```
 */
export function resolveRetryPolicy(policy: RetryPolicy = {}): ResolvedRetryPolicy {
  const pick = (value: number | undefined, fallback: number, min: number) =>
    value === undefined || !Number.isFinite(value) ? fallback : Math.max(min, value);
  return {
    maxAttempts: Math.floor(pick(policy.maxAttempts, DEFAULT_RETRY_POLICY.maxAttempts, 1)),
    initialDelayMs: pick(policy.initialDelayMs, DEFAULT_RETRY_POLICY.initialDelayMs, 0),
    maxDelayMs: pick(policy.maxDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, 0),
    multiplier: pick(policy.multiplier, DEFAULT_RETRY_POLICY.multiplier, 1),
  };
}

/**
 * The wait before retry number `attempt` (1 = the wait after the first failure): exponential
 * backoff with full jitter (a uniformly random delay between 0 and the capped exponential), but
 * never shorter than what the remote side asked for with `Retry-After`.
 *
 * @example
 * ```ts
 * backoffDelay(3, resolveRetryPolicy(), undefined, () => 0.5); // 400 (half of 200 * 2^2)
 * backoffDelay(1, resolveRetryPolicy(), 5000, () => 0.5);      // 5000
 * ```
 */
export function backoffDelay(
  attempt: number,
  policy: ResolvedRetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}
