/**
 * Duplicate suppression across runs: the keys of posted messages, kept in the plugin state
 * (`ctx.state`, the server's store) for a time to live, or in memory without one.
 *
 * @packageDocumentation
 */
import { RetryableError, type PluginStateStore } from '@sluice/core';
import { stateKey } from './state-key.js';

/**
 * What the destination asks about dedupe keys.
 *
 * @example
 * ```ts
 * const keys = createPostedKeys(createMemoryPluginState(), 72 * 3_600_000);
 * if (!(await keys.wasPosted('2026-11-24:Email'))) await keys.remember('2026-11-24:Email', { ts, channel });
 * ```
 */
export interface PostedKeys {
  /** Whether a message with this key was posted within the time to live. Throws a RetryableError when the state is unreachable. */
  wasPosted(key: string): Promise<boolean>;
  /** Records that a message with this key was posted; resolves `false` (never throws) when the state could not be written. */
  remember(key: string, posted: { ts: string; channel: string }): Promise<boolean>;
}

/**
 * Posted keys over a plugin state store, each kept for `ttlMs`, under `prefix` (`dedupe` for the
 * configured dedupe keys, `sent` for the identity of each message the destination posted).
 *
 * @example
 * ```ts
 * const keys = createPostedKeys(ctx.state ?? createMemoryPluginState({ clock: ctx.clock }), 72 * 3_600_000);
 * ```
 */
export function createPostedKeys(
  state: PluginStateStore,
  ttlMs: number,
  prefix = 'dedupe',
): PostedKeys {
  return {
    async wasPosted(key) {
      try {
        return (await state.get(stateKey(prefix, key))) !== undefined;
      } catch (err) {
        throw new RetryableError(
          `slack dedupe: cannot read the plugin state (${(err as Error).message})`,
          { cause: err },
        );
      }
    },
    async remember(key, posted) {
      try {
        await state.set(stateKey(prefix, key), posted, { ttlMs });
        return true;
      } catch {
        return false;
      }
    },
  };
}
