/**
 * Durable plugin state (`ctx.state`): one `PluginStateStore` per namespace (a plugin instance)
 * over the `plugin_state` table. Expired keys are invisible to every method and deleted lazily:
 * the expired key a read meets, and every expired key of the namespace now and then on writes.
 */
import {
  ConfigError,
  checkPluginStateKey,
  checkPluginStateWrite,
  type JsonValue,
  type PluginStateSetOptions,
  type PluginStateStore,
} from '@sluice/core';
import { sql, type Kysely } from 'kysely';
import type { StoreDatabase } from './schema.js';
import { fromJson, jsonText } from './values.js';

/** Longest namespace, in characters. */
const MAX_NAMESPACE_LENGTH = 500;
/** A namespace's expired keys are swept at most this often (per store handle). */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/** Options of {@link createPluginStateStore}. */
export interface PluginStateStoreOptions {
  /** Milliseconds since the epoch; decides expiry. Default `Date.now` (tests pass a fake clock). */
  now?: () => number;
}

/**
 * Creates the plugin-state repository of one namespace. `setIfAbsent` is one
 * `INSERT ... ON CONFLICT DO UPDATE ... WHERE <expired>`, so of concurrent callers (on any number
 * of server instances sharing the database) exactly one wins.
 *
 * @example
 * ```ts
 * const state = createPluginStateStore(db, 'destination:slack:alerts');
 * await state.setIfAbsent('dedupe:2026-11-24:Email', { ts: '1764057600.000100' }, { ttlMs: 72 * 3_600_000 }); // true
 * await state.get('dedupe:2026-11-24:Email'); // { ts: '1764057600.000100' }
 * ```
 */
export function createPluginStateStore(
  db: Kysely<StoreDatabase>,
  namespace: string,
  options: PluginStateStoreOptions = {},
): PluginStateStore {
  if (
    typeof namespace !== 'string' ||
    namespace.length === 0 ||
    namespace.length > MAX_NAMESPACE_LENGTH
  ) {
    throw new ConfigError([
      {
        path: 'namespace',
        message: `expected a non-empty string of at most ${MAX_NAMESPACE_LENGTH} characters`,
      },
    ]);
  }
  const now = options.now ?? Date.now;
  let lastPrune = 0;

  const expiry = (at: number, write?: PluginStateSetOptions) =>
    write?.ttlMs === undefined ? null : new Date(at + write.ttlMs).toISOString();

  /** Deletes the namespace's expired keys, at most once per interval; never fails a write. */
  const pruneNow = async (at: number) => {
    if (at - lastPrune < PRUNE_INTERVAL_MS) return;
    lastPrune = at;
    await db
      .deleteFrom('plugin_state')
      .where('namespace', '=', namespace)
      .where('expires_at', '<=', new Date(at))
      .execute()
      .catch(() => {
        lastPrune = 0;
      });
  };

  return {
    async get(key) {
      checkPluginStateKey(key);
      const at = now();
      const row = await db
        .selectFrom('plugin_state')
        // As text: a top-level JSON string would come back from the driver already parsed and
        // indistinguishable from JSON text.
        .select([sql<string>`value::text`.as('value'), 'expires_at'])
        .where('namespace', '=', namespace)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row) return undefined;
      if (row.expires_at !== null && row.expires_at.getTime() <= at) {
        // The condition repeats the expiry, so a value written again meanwhile is kept.
        await db
          .deleteFrom('plugin_state')
          .where('namespace', '=', namespace)
          .where('key', '=', key)
          .where('expires_at', '<=', new Date(at))
          .execute();
        return undefined;
      }
      return fromJson<JsonValue>(row.value);
    },

    async set(key, value, write) {
      checkPluginStateWrite(key, value, write);
      const at = now();
      const row = {
        namespace,
        key,
        value: jsonText(value),
        expires_at: expiry(at, write),
        updated_at: new Date(at).toISOString(),
      };
      await db
        .insertInto('plugin_state')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['namespace', 'key']).doUpdateSet({
            value: row.value,
            expires_at: row.expires_at,
            updated_at: row.updated_at,
          }),
        )
        .execute();
      await pruneNow(at);
    },

    async delete(key) {
      checkPluginStateKey(key);
      const at = now();
      const rows = await db
        .deleteFrom('plugin_state')
        .where('namespace', '=', namespace)
        .where('key', '=', key)
        .returning('expires_at')
        .execute();
      return rows.some((r) => r.expires_at === null || r.expires_at.getTime() > at);
    },

    async setIfAbsent(key, value, write) {
      checkPluginStateWrite(key, value, write);
      const at = now();
      const row = {
        namespace,
        key,
        value: jsonText(value),
        expires_at: expiry(at, write),
        updated_at: new Date(at).toISOString(),
      };
      // Inserted, or replaced an expired value: one row back. A live value: the WHERE of the
      // update fails and nothing comes back. The row lock of ON CONFLICT makes this atomic.
      const rows = await db
        .insertInto('plugin_state')
        .values(row)
        .onConflict((oc) =>
          oc
            .columns(['namespace', 'key'])
            .doUpdateSet({
              value: row.value,
              expires_at: row.expires_at,
              updated_at: row.updated_at,
            })
            .where('plugin_state.expires_at', '<=', new Date(at)),
        )
        .returning('key')
        .execute();
      await pruneNow(at);
      return rows.length === 1;
    },
  };
}
