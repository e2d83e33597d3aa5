/**
 * Applies pending migrations under a lock, so two server instances starting together never
 * migrate at once: a PostgreSQL advisory lock (per schema) held on one pinned connection, or an
 * in-process lock for PGlite (one process owns a PGlite data folder).
 */
import { FatalError } from '@sluice/core';
import { sql, type Kysely } from 'kysely';
import { migrationChecksum, type Migration } from './migrations.js';
import { toIso } from './values.js';

/**
 * Where one migration stands in a database.
 *
 * @example
 * ```ts
 * for (const m of await store.migrationStatus()) console.log(m.name, m.state);
 * ```
 */
export interface MigrationState {
  name: string;
  /** `pending`: not applied yet; `applied`; `changed`: applied, but its SQL differs now; `unknown`: applied by a newer version. */
  state: 'pending' | 'applied' | 'changed' | 'unknown';
  appliedAt: string | null;
}

/**
 * What a migration run (`store.migrate()`) did.
 *
 * @example
 * ```ts
 * const { applied } = await store.migrate();
 * console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema up to date');
 * ```
 */
export interface MigrateResult {
  /** Names applied by this call, in order. */
  applied: string[];
  /** Names that were already applied. */
  skipped: string[];
}

/** Kysely over any schema: the migrator works on tables the typed schema does not describe. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKysely = Kysely<any>;

/** Runs `fn` while holding the migration lock, with a database handle to migrate through. */
export type MigrationLock = <T>(fn: (db: AnyKysely) => Promise<T>) => Promise<T>;

/**
 * The PostgreSQL migration lock: `pg_advisory_lock` keyed by the schema, on one connection that
 * also runs the migrations (advisory locks belong to a session).
 */
export function advisoryLock(db: AnyKysely, schema: string): MigrationLock {
  return (fn) =>
    db.connection().execute(async (conn) => {
      await sql`SELECT pg_advisory_lock(hashtext('sluice:migrate'), hashtext(${schema}))`.execute(
        conn,
      );
      try {
        return await fn(conn);
      } finally {
        await sql`SELECT pg_advisory_unlock(hashtext('sluice:migrate'), hashtext(${schema}))`.execute(
          conn,
        );
      }
    });
}

const processLocks = new WeakMap<object, Promise<unknown>>();

/** An in-process lock keyed by an object (the PGlite instance): calls run one after another. */
export function processLock(key: object, db: AnyKysely): MigrationLock {
  return <T>(fn: (db: Kysely<unknown>) => Promise<T>) => {
    const previous = processLocks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => fn(db));
    processLocks.set(key, next);
    return next;
  };
}

async function ensureBookkeeping(db: AnyKysely, schema: string): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
  await sql`CREATE TABLE IF NOT EXISTS ${sql.id(schema, 'sluice_migrations')} (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL
  )`.execute(db);
}

async function appliedMigrations(
  db: AnyKysely,
  schema: string,
): Promise<Map<string, { checksum: string; appliedAt: string }>> {
  // to_regclass resolves the name from the catalog directly: planning the information_schema
  // view instead took 30-60 ms of an embedded store's start (issue 19).
  const table = `${quoteIdent(schema)}.sluice_migrations`;
  const exists = await sql<{
    found: boolean;
  }>`SELECT to_regclass(${table}) IS NOT NULL AS found`.execute(db);
  if (!exists.rows[0]?.found) return new Map();
  const rows = await sql<{ name: string; checksum: string; applied_at: Date | string }>`
    SELECT name, checksum, applied_at FROM ${sql.id(schema, 'sluice_migrations')} ORDER BY name`.execute(
    db,
  );
  return new Map(
    rows.rows.map((row) => [
      row.name,
      { checksum: row.checksum, appliedAt: toIso(row.applied_at) },
    ]),
  );
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Lists every known and applied migration with its state.
 *
 * @example
 * ```ts
 * const states = await migrationStates(db, 'sluice', bundledMigrations());
 * ```
 */
export async function migrationStates(
  db: AnyKysely,
  schema: string,
  migrations: readonly Migration[],
): Promise<MigrationState[]> {
  const applied = await appliedMigrations(db, schema);
  const states: MigrationState[] = migrations.map((migration) => {
    const row = applied.get(migration.name);
    if (!row) return { name: migration.name, state: 'pending', appliedAt: null };
    return {
      name: migration.name,
      state: row.checksum === migrationChecksum(migration) ? 'applied' : 'changed',
      appliedAt: row.appliedAt,
    };
  });
  const known = new Set(migrations.map((m) => m.name));
  for (const [name, row] of applied) {
    if (!known.has(name)) states.push({ name, state: 'unknown', appliedAt: row.appliedAt });
  }
  return states.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Applies every pending migration, each in its own transaction with `search_path` set to the
 * schema, under `lock`. Refuses to run when an applied migration's SQL was edited afterwards.
 *
 * @example
 * ```ts
 * await runMigrations({ schema: 'sluice', migrations: bundledMigrations(), lock: advisoryLock(db, 'sluice') });
 * ```
 */
export async function runMigrations(options: {
  schema: string;
  migrations: readonly Migration[];
  lock: MigrationLock;
}): Promise<MigrateResult> {
  const { schema, migrations, lock } = options;
  return lock(async (db) => {
    // A store that has applied migrations has its schema and bookkeeping table: the DDL that
    // makes them is only run when none are recorded (a start on an existing store runs no DDL).
    const applied = await appliedMigrations(db, schema);
    if (applied.size === 0) await ensureBookkeeping(db, schema);
    const changed = migrations.filter((m) => {
      const row = applied.get(m.name);
      return row !== undefined && row.checksum !== migrationChecksum(m);
    });
    if (changed.length > 0) {
      throw new FatalError(
        `Applied migration(s) were edited afterwards: ${changed.map((m) => m.name).join(', ')}. ` +
          'Never edit an applied migration; add a new one.',
        { details: { schema, migrations: changed.map((m) => m.name) } },
      );
    }
    const result: MigrateResult = { applied: [], skipped: [] };
    for (const migration of migrations) {
      if (applied.has(migration.name)) {
        result.skipped.push(migration.name);
        continue;
      }
      try {
        await db.transaction().execute(async (trx) => {
          await sql.raw(`SET LOCAL search_path TO ${quoteIdent(schema)}`).execute(trx);
          await sql.raw(migration.sql).execute(trx);
          await sql`INSERT INTO ${sql.id(schema, 'sluice_migrations')} (name, checksum, applied_at)
            VALUES (${migration.name}, ${migrationChecksum(migration)}, ${new Date().toISOString()})`.execute(
            trx,
          );
        });
      } catch (error) {
        throw new FatalError(`Migration ${migration.name} failed: ${(error as Error).message}`, {
          cause: error,
          details: { schema, migration: migration.name },
        });
      }
      result.applied.push(migration.name);
    }
    return result;
  });
}
