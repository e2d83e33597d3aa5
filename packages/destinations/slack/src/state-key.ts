/**
 * Keys of the destination's entries in the plugin state (`ctx.state`): `<prefix>:<key>`, or a
 * sha256 of the key when it is long (plugin-state keys are limited in length, rendered
 * templates are not).
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';

/** Longest key stored as is; longer ones are hashed. */
const MAX_PLAIN_KEY = 500;

/**
 * The plugin-state key of `key` under `prefix` (`thread`, `dedupe`).
 *
 * @example
 * ```ts
 * stateKey('dedupe', '2026-11-24:Email'); // 'dedupe:2026-11-24:Email'
 * stateKey('dedupe', 'x'.repeat(600));    // 'dedupe#sha256:3b1f...'
 * ```
 */
export function stateKey(prefix: string, key: string): string {
  const plain = `${prefix}:${key}`;
  // `#` never follows the prefix of a plain key, so hashed and plain keys cannot collide.
  return plain.length <= MAX_PLAIN_KEY
    ? plain
    : `${prefix}#sha256:${createHash('sha256').update(key).digest('hex')}`;
}
