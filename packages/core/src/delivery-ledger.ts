/**
 * What a destination already delivered, so a repeat of a batch — a retry, a run taken over after
 * a crash that re-reads the source from its checkpoint, a dead-letter replay — is not sent again
 * where the receiving end cannot tell (e-mail, Slack, webhooks to receivers without de-duplication).
 * Keys are the identities the router gives (`batch.recordKeys`, `batch.id`), which are the same in
 * every one of those repeats.
 *
 * Two layers: this instance's memory (bounded), so its own retries skip even when the store is
 * unreachable, and the engine's plugin state (`ctx.state`, the server's store) for a time to live,
 * shared by every instance and kept across restarts. The one window left is a crash after the
 * receiving end accepted and before {@link DeliveryLedger.add} stored the key.
 *
 * @packageDocumentation
 */
import type { Clock } from './context.js';
import { RetryableError } from './errors.js';
import { createMemoryPluginState, type PluginStateStore } from './plugin-state.js';

/** How long a delivered key is kept in the store by default: longer than any take-over or replay takes to come. */
export const DELIVERY_LEDGER_TTL_MS = 7 * 24 * 3_600_000;

/** Options of {@link createDeliveryLedger}. */
export interface DeliveryLedgerOptions {
  /** The durable layer, usually `ctx.state`; absent: memory only. */
  state?: PluginStateStore;
  clock: Pick<Clock, 'now'>;
  /** Keys kept in memory; `0` turns the ledger off (every `has` is false). */
  remember: number;
  /** How long the store keeps a key. Default {@link DELIVERY_LEDGER_TTL_MS}. */
  ttlMs?: number;
}

/** The delivered keys of one destination instance. */
export interface DeliveryLedger {
  /** Whether `key` was delivered. Throws a `RetryableError` when the store cannot be read. */
  has(key: string): Promise<boolean>;
  /** Records `key` as delivered; resolves `false` (never throws) when the store could not be written. */
  add(key: string): Promise<boolean>;
}

/**
 * Creates a ledger over memory and `state`.
 *
 * @example
 * ```ts
 * const sent = createDeliveryLedger({ state: ctx.state, clock: ctx.clock, remember: 10_000 });
 * const key = batch.recordKeys?.[i] ?? `${batch.id}#${i}`;
 * if (!(await sent.has(key))) {
 *   await post(batch.records[i]);
 *   if (!(await sent.add(key))) ctx.logger.warn({ key }, 'a repeat may send this again');
 * }
 * ```
 */
export function createDeliveryLedger(options: DeliveryLedgerOptions): DeliveryLedger {
  if (options.remember <= 0) return { has: async () => false, add: async () => true };
  const ttlMs = options.ttlMs ?? DELIVERY_LEDGER_TTL_MS;
  const here = createMemoryPluginState({ clock: options.clock, maxKeys: options.remember });
  const anywhere = options.state;
  const stored = (key: string) => `sent:${key}`;
  return {
    async has(key) {
      if ((await here.get(stored(key))) !== undefined) return true;
      if (anywhere === undefined) return false;
      try {
        return (await anywhere.get(stored(key))) !== undefined;
      } catch (err) {
        throw new RetryableError(
          `delivery ledger: cannot read the plugin state (${(err as Error).message})`,
          { cause: err },
        );
      }
    },
    async add(key) {
      const at = options.clock.now();
      await here.set(stored(key), at, { ttlMs });
      if (anywhere === undefined) return true;
      try {
        await anywhere.set(stored(key), at, { ttlMs });
        return true;
      } catch {
        return false;
      }
    },
  };
}
