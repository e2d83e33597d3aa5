/**
 * Named, versioned configs: one implementation for pipelines, connections, destinations and
 * schedules (each a `<things>` + `<thing>_versions` table pair of the same shape).
 */
import {
  ConfigError,
  isRecord,
  type ConfigEntry,
  type ConfigVersion,
  type JsonObject,
  type SavedConfig,
  type VersionedConfigStore,
} from '@sluice/core';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ConfigEntityTable, ConfigVersionTable, StoreDatabase } from './schema.js';
import { assertNoPlaintextSecrets } from './secrets.js';
import { canonicalJson, fromJson, jsonText, sha256, toIso } from './values.js';

/** The entity/version table pairs. */
export const CONFIG_TABLES = {
  pipelines: { entity: 'pipelines', versions: 'pipeline_versions', noun: 'pipeline' },
  connections: { entity: 'connections', versions: 'connection_versions', noun: 'connection' },
  destinations: { entity: 'destinations', versions: 'destination_versions', noun: 'destination' },
  schedules: { entity: 'schedules', versions: 'schedule_versions', noun: 'schedule' },
} as const;

/** Which config kind a store manages. */
export type ConfigKind = keyof typeof CONFIG_TABLES;

// Every pair has the same shape, so the queries are typed against the `pipelines` pair.
type Tables = { pipelines: ConfigEntityTable; pipeline_versions: ConfigVersionTable };

/** Options of a save: paths of fields to treat as secrets besides those named like one. */
export interface SaveOptions {
  /** Paths (`auth.key`, `headers[0].value`) of fields that hold secrets, e.g. from a plugin schema. */
  secretPaths?: readonly string[];
}

/**
 * A {@link VersionedConfigStore} whose `save` also takes {@link SaveOptions}.
 *
 * @example
 * ```ts
 * await store.connections.save('ga4-main', { kind: 'ga4', propertyId: '123', credentials: '${file:/run/sa.json}' });
 * ```
 */
export interface ConfigStore extends VersionedConfigStore {
  save(name: string, config: JsonObject, options?: SaveOptions): Promise<SavedConfig>;
  /**
   * Takes back a version that could not be applied: when `version` is still the latest of
   * `name`, it is deleted (with its route index rows) and the version before it is the latest
   * again; when it was the only version, `name` is forgotten. Returns false (and changes nothing)
   * when another version was saved since. The server uses it so a configuration change that the
   * running scheduler refused leaves no trace in the store.
   */
  discardVersion(name: string, version: number): Promise<boolean>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Checks a config name: letters, digits, `_`, `.`, `-`, starting with a letter or digit, at most
 * 128 characters (names appear in URLs such as `/webhooks/:pipeline`).
 *
 * @example
 * ```ts
 * assertConfigName('daily-sessions', 'pipeline'); // ok
 * ```
 */
export function assertConfigName(name: string, noun: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new ConfigError([
      {
        path: 'name',
        message: `invalid ${noun} name ${JSON.stringify(name)}: use letters, digits, _ . - (max 128), starting with a letter or digit`,
      },
    ]);
  }
}

function toVersion(row: Selectable<ConfigVersionTable>): ConfigVersion {
  return {
    name: row.name,
    version: row.version,
    config: fromJson<JsonObject>(row.config),
    createdAt: toIso(row.created_at),
  };
}

function toEntry(row: Selectable<ConfigEntityTable>): ConfigEntry {
  return {
    name: row.name,
    latestVersion: row.latest_version,
    enabled: row.enabled,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

/** Called inside the save transaction when a new version was written (e.g. to index routes). */
export type OnNewVersion = (
  trx: Transaction<StoreDatabase>,
  version: ConfigVersion,
) => Promise<void>;

/**
 * Creates the store of one config kind.
 *
 * @example
 * ```ts
 * const pipelines = createConfigStore(db, 'pipelines');
 * const { version, changed } = await pipelines.save('daily', { source: 'ga4' });
 * ```
 */
export function createConfigStore(
  db: Kysely<StoreDatabase>,
  kind: ConfigKind,
  onNewVersion?: OnNewVersion,
): ConfigStore {
  const { entity: entityName, versions: versionsName, noun } = CONFIG_TABLES[kind];
  const entity = entityName as 'pipelines';
  const versions = versionsName as 'pipeline_versions';
  const typed = db as unknown as Kysely<Tables>;

  const getVersion = async (name: string, version: number): Promise<ConfigVersion | undefined> => {
    const row = await typed
      .selectFrom(versions)
      .selectAll()
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    return row ? toVersion(row) : undefined;
  };

  const getEntryRow = (name: string) =>
    typed
      .selectFrom(entity)
      .selectAll()
      .where('name', '=', name)
      .where('removed_at', 'is', null)
      .executeTakeFirst();

  return {
    async save(name, config, options = {}) {
      assertConfigName(name, noun);
      if (!isRecord(config))
        throw new ConfigError([
          { path: 'config', message: `expected the ${noun} config as a JSON object` },
        ]);
      assertNoPlaintextSecrets(config, `${kind}.${name}`, options.secretPaths);
      const canonical = canonicalJson(config);
      const hash = sha256(canonical);
      const now = new Date().toISOString();
      return db.transaction().execute(async (trx) => {
        const t = trx as unknown as Transaction<Tables>;
        await t
          .insertInto(entity)
          .values({ name, created_at: now, updated_at: now })
          .onConflict((oc) => oc.column('name').doNothing())
          .execute();
        const entry = await t
          .selectFrom(entity)
          .selectAll()
          .where('name', '=', name)
          .forUpdate()
          .executeTakeFirstOrThrow();
        const latest =
          entry.latest_version > 0
            ? await t
                .selectFrom(versions)
                .selectAll()
                .where('name', '=', name)
                .where('version', '=', entry.latest_version)
                .executeTakeFirst()
            : undefined;
        if (latest && latest.config_hash === hash) {
          if (entry.removed_at !== null) {
            await t
              .updateTable(entity)
              .set({ removed_at: null, updated_at: now })
              .where('name', '=', name)
              .execute();
          }
          return { ...toVersion(latest), changed: false };
        }
        const version = entry.latest_version + 1;
        const row = await t
          .insertInto(versions)
          .values({ name, version, config: jsonText(config), config_hash: hash, created_at: now })
          .returningAll()
          .executeTakeFirstOrThrow();
        await t
          .updateTable(entity)
          .set({ latest_version: version, updated_at: now, removed_at: null })
          .where('name', '=', name)
          .execute();
        const saved = toVersion(row);
        await onNewVersion?.(trx, saved);
        return { ...saved, changed: true };
      });
    },

    async discardVersion(name, version) {
      return db.transaction().execute(async (trx) => {
        const t = trx as unknown as Transaction<Tables>;
        const entry = await t
          .selectFrom(entity)
          .selectAll()
          .where('name', '=', name)
          .forUpdate()
          .executeTakeFirst();
        if (!entry || entry.latest_version !== version || version < 1) return false;
        if (version === 1) {
          // ON DELETE CASCADE removes the version and its route rows.
          await t.deleteFrom(entity).where('name', '=', name).execute();
          return true;
        }
        await t
          .deleteFrom(versions)
          .where('name', '=', name)
          .where('version', '=', version)
          .execute();
        await t
          .updateTable(entity)
          .set({ latest_version: version - 1, updated_at: new Date().toISOString() })
          .where('name', '=', name)
          .execute();
        return true;
      });
    },

    async getLatest(name) {
      const entry = await getEntryRow(name);
      return entry && entry.latest_version > 0 ? getVersion(name, entry.latest_version) : undefined;
    },

    getVersion,

    async listVersions(name) {
      const rows = await typed
        .selectFrom(versions)
        .selectAll()
        .where('name', '=', name)
        .orderBy('version', 'desc')
        .execute();
      return rows.map(toVersion);
    },

    async getEntry(name) {
      const row = await getEntryRow(name);
      return row ? toEntry(row) : undefined;
    },

    async list() {
      const rows = await typed
        .selectFrom(entity)
        .selectAll()
        .where('removed_at', 'is', null)
        .orderBy('name')
        .execute();
      return rows.map(toEntry);
    },

    async setEnabled(name, enabled) {
      if (typeof enabled !== 'boolean')
        throw new ConfigError([{ path: 'enabled', message: 'expected true or false' }]);
      const result = await typed
        .updateTable(entity)
        .set({ enabled, updated_at: new Date().toISOString() })
        .where('name', '=', name)
        .where('removed_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async remove(name) {
      const now = new Date().toISOString();
      const result = await typed
        .updateTable(entity)
        .set({ removed_at: now, updated_at: now })
        .where('name', '=', name)
        .where('removed_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
