/**
 * Per-channel pacing: Slack allows about one message per second per channel, and bursts past
 * that get HTTP 429. Waiting here, with the engine's clock, is cheaper than being rate limited.
 *
 * @packageDocumentation
 */
import type { Clock } from '@sluice/core';
import { LRUCache } from 'lru-cache';

/** Spaces calls per key (channel) at least `intervalMs` apart. */
export interface Pacer {
  /** Waits until a call to `key` is allowed (rejects when `signal` aborts). */
  wait(key: string, signal: AbortSignal): Promise<void>;
  /** Records a call to `key` now; `pauseMs` pushes the next allowed call further (e.g. Retry-After). */
  record(key: string, pauseMs?: number): void;
}

/**
 * Creates a pacer that remembers the last `maxKeys` channels recorded (waiting on a channel does
 * not keep it remembered: the least recently recorded is forgotten first).
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
  const nextAllowed = new LRUCache<string, number>({ max: maxKeys });
  return {
    async wait(key, signal) {
      // peek, not get: only record() refreshes a channel's place in the eviction order.
      const at = nextAllowed.peek(key);
      if (at === undefined) return;
      const delay = at - clock.now();
      if (delay > 0) await clock.sleep(delay, signal);
    },
    record(key, pauseMs = 0) {
      nextAllowed.set(key, clock.now() + Math.max(intervalMs, pauseMs));
    },
  };
}
