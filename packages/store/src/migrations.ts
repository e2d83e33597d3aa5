/**
 * The store's migrations: plain SQL files (`migrations/NNNN_name.sql` at the repository root),
 * embedded into the package at build time and loadable from any folder.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@sluice/core';
import { EMBEDDED_MIGRATIONS } from './migrations.generated.js';
import { sha256 } from './values.js';

/**
 * One migration: a name that sorts in apply order (`0001_initial_schema`) and its SQL, which
 * uses unqualified table names (the runner sets `search_path` to the store's schema).
 *
 * @example
 * ```ts
 * const extra: Migration = { name: '0100_reporting', sql: 'CREATE TABLE IF NOT EXISTS report (id int);' };
 * ```
 */
export interface Migration {
  name: string;
  sql: string;
}

/**
 * The migrations shipped with this package, in apply order.
 *
 * @example
 * ```ts
 * import { bundledMigrations } from '@sluice/store';
 * console.log(bundledMigrations().map((m) => m.name));
 * ```
 */
export function bundledMigrations(): readonly Migration[] {
  return EMBEDDED_MIGRATIONS;
}

/**
 * Reads every `*.sql` file of a folder as migrations, sorted by file name.
 *
 * @example
 * ```ts
 * const migrations = await loadMigrationsFromDir('./migrations');
 * const store = await createStore({ dataDir: './.sluice/db', migrations });
 * ```
 */
export async function loadMigrationsFromDir(dir: string): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (file) => ({
      name: file.slice(0, -'.sql'.length),
      sql: await readFile(join(dir, file), 'utf8'),
    })),
  );
}

/** The checksum recorded for an applied migration (line endings normalised). */
export function migrationChecksum(migration: Migration): string {
  return sha256(migration.sql.replace(/\r\n/g, '\n'));
}

/** Rejects duplicate or unordered names, so the apply order is the list order. */
export function assertMigrationList(migrations: readonly Migration[]): void {
  const seen = new Set<string>();
  let previous = '';
  migrations.forEach((migration, index) => {
    const path = `migrations[${index}].name`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(migration.name)) {
      throw new ConfigError([
        { path, message: `invalid migration name ${JSON.stringify(migration.name)}` },
      ]);
    }
    if (seen.has(migration.name))
      throw new ConfigError([{ path, message: `duplicate migration ${migration.name}` }]);
    if (migration.name < previous) {
      throw new ConfigError([
        {
          path,
          message: `${migration.name} sorts before ${previous}; list migrations in name order`,
        },
      ]);
    }
    seen.add(migration.name);
    previous = migration.name;
  });
}
