/**
 * Client-side rate limiting shared by every HubSpot connector of the process that uses the
 * same access token. HubSpot counts requests per app/account, not per pipeline, so two
 * pipelines reading contacts and deals with one token must draw from one budget.
 *
 * The budget lives in a module-level registry keyed by a SHA-256 hash of the token (the token
 * itself is never kept as a key). Each entry holds two token buckets: one for every request
 * (HubSpot's rolling `TEN_SECONDLY_ROLLING` policy) and one for search requests (HubSpot's
 * per-second search limit).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '@sluice/core';

/** A request budget: at most `requests` per rolling `intervalMs`. */
export interface RatePolicy {
  requests: number;
  intervalMs: number;
}

/**
 * A token bucket tuned so that no rolling window of `intervalMs` ever sees more than
 * `requests` requests: the burst is a tenth of the budget and the refill rate spreads the
 * rest over the interval (burst + rate × interval = budget), with a 5 % time margin for
 * timer jitter and network reordering.
 *
 * Hand-written because `limiter` and `bottleneck` read the wall clock and their own timers (no
 * injected {@link Clock}), take no AbortSignal, and have no pause-everyone-for-Retry-After.
 */
export class TokenBucket {
  #capacity = 1;
  #refillPerMs = 0;
  #tokens = 1;
  #updatedAt: number;
  #pausedUntil = 0;
  #tail: Promise<void> = Promise.resolve();
  #policy: RatePolicy;

  constructor(
    policy: RatePolicy,
    private readonly clock: Clock,
  ) {
    this.#policy = policy;
    this.#updatedAt = clock.now();
    this.#configure(policy);
    this.#tokens = this.#capacity;
  }

  /** The policy in force. */
  get policy(): RatePolicy {
    return this.#policy;
  }

  /** Switches to a stricter policy (a looser one is ignored: the strictest user wins). */
  tighten(policy: RatePolicy): void {
    if (policy.requests / policy.intervalMs < this.#policy.requests / this.#policy.intervalMs) {
      this.#policy = policy;
      this.#configure(policy);
      this.#tokens = Math.min(this.#tokens, this.#capacity);
    }
  }

  #configure(policy: RatePolicy): void {
    this.#capacity = Math.max(1, Math.floor(policy.requests / 10));
    const spread = Math.max(policy.requests - this.#capacity, 1);
    this.#refillPerMs = spread / (policy.intervalMs * 1.05);
  }

  /** Stops handing out tokens for `ms` (after HubSpot answered 429), for every user of the bucket. */
  pause(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.clock.now() + ms);
    this.#tokens = 0;
  }

  /** Waits for a token, in arrival order. Rejects with the signal's reason when it aborts. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#tail.then(() => this.#acquire(signal));
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  async #acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.clock.now();
      this.#tokens = Math.min(
        this.#capacity,
        this.#tokens + (now - this.#updatedAt) * this.#refillPerMs,
      );
      this.#updatedAt = now;
      if (now >= this.#pausedUntil && this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      const wait = Math.max(this.#pausedUntil - now, (1 - this.#tokens) / this.#refillPerMs);
      await this.clock.sleep(Math.max(1, Math.ceil(wait)), signal);
    }
  }
}

/** The buckets shared by every connector that uses one access token. */
export interface SharedRateLimiter {
  /** Every request. */
  readonly general: TokenBucket;
  /** Search requests (which also take a general token). */
  readonly search: TokenBucket;
}

const registry = new Map<string, SharedRateLimiter>();

/** The registry key of a token: a SHA-256 prefix, so tokens are never held as map keys or logged. */
export function tokenKey(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('hex').slice(0, 32);
}

/**
 * The shared limiter of an access token, created on first use. When connectors of the same
 * token ask for different policies, the strictest one applies to all of them.
 *
 * @example
 * ```ts
 * const limiter = rateLimiterFor(token, { requests: 100, intervalMs: 10_000 }, 4, systemClock);
 * await limiter.general.take(signal);
 * ```
 */
export function rateLimiterFor(
  accessToken: string,
  policy: RatePolicy,
  searchPerSecond: number,
  clock: Clock,
): SharedRateLimiter {
  const key = tokenKey(accessToken);
  const searchPolicy: RatePolicy = { requests: searchPerSecond, intervalMs: 1_000 };
  const existing = registry.get(key);
  if (existing) {
    existing.general.tighten(policy);
    existing.search.tighten(searchPolicy);
    return existing;
  }
  const created = {
    general: new TokenBucket(policy, clock),
    search: new TokenBucket(searchPolicy, clock),
  };
  registry.set(key, created);
  return created;
}
