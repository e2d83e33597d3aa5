/**
 * Per-channel pacing: Slack allows about one message per second per channel, and bursts past
 * that get HTTP 429. Waiting here, with the engine's clock, is cheaper than being rate limited.
 *
 * @packageDocumentation
 */
import type { Clock } from '@sluice/core';

/** Spaces calls per key (channel) at least `intervalMs` apart. */
export interface Pacer {
  /** Waits until a call to `key` is allowed (rejects when `signal` aborts). */
  wait(key: string, signal: AbortSignal): Promise<void>;
  /** Records a call to `key` now; `pauseMs` pushes the next allowed call further (e.g. Retry-After). */
  record(key: string, pauseMs?: number): void;
}

/**
 * Creates a pacer that remembers the last `maxKeys` channels.
 *
 * @example
 * ```ts
 * const pacer = createPacer(1000, ctx.clock);
 * await pacer.wait('#alerts', signal);
 * await post();
 * pacer.record('#alerts');
 * ```
 */
export function createPacer(intervalMs: number, clock: Clock, maxKeys = 10_000): Pacer {
  const nextAllowed = new Map<string, number>();
  return {
    async wait(key, signal) {
      const at = nextAllowed.get(key);
      if (at === undefined) return;
      const delay = at - clock.now();
      if (delay > 0) await clock.sleep(delay, signal);
    },
    record(key, pauseMs = 0) {
      nextAllowed.delete(key);
      nextAllowed.set(key, clock.now() + Math.max(intervalMs, pauseMs));
      if (nextAllowed.size > maxKeys) {
        const oldest = nextAllowed.keys().next();
        if (!oldest.done) nextAllowed.delete(oldest.value);
      }
    },
  };
}
