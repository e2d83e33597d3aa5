/**
 * The database drivers are optional peer dependencies: a PostgreSQL user installs `pg`, a MySQL
 * or MariaDB user `mysql2`, and neither pays for the other (SQLite needs none: `node:sqlite`).
 * Each is imported when a destination of its dialect first connects, and a missing one is a
 * fatal error that names the package to install.
 */
import { FatalError } from '@sluice/core';
import type * as Mysql2 from 'mysql2';
import type * as Pg from 'pg';
import type { DialectName } from './identifiers.js';

/** The npm package each dialect's driver comes from. */
export const DRIVER_PACKAGES = {
  postgres: 'pg',
  mysql: 'mysql2',
} as const satisfies Partial<Record<DialectName, string>>;

/** A dialect with a driver package. */
export type DriverDialect = keyof typeof DRIVER_PACKAGES;

/** What each driver package's import gives. */
export interface DriverModules {
  pg: typeof Pg;
  mysql2: typeof Mysql2;
}

/**
 * Imports a driver package; the default one is `import()`. Tests inject another to simulate a
 * package that is not installed.
 */
export type DriverImporter = <Name extends keyof DriverModules>(
  name: Name,
) => Promise<DriverModules[Name]>;

const importDriverPackage: DriverImporter = (name) =>
  // Literal specifiers, so bundlers and TypeScript see each one.
  (name === 'pg' ? import('pg') : import('mysql2')) as Promise<DriverModules[typeof name]>;

/** True when `error` says that the package `name` itself (not something it imports) is missing. */
function isMissingPackage(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return (
    typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`))
  );
}

/**
 * Loads the driver of `dialect`.
 *
 * @throws FatalError naming the package to install when it is not installed.
 * @example
 * ```ts
 * const { Pool } = await loadDriver('postgres');
 * const pool = new Pool({ connectionString: url });
 * ```
 */
export async function loadDriver<Dialect extends DriverDialect>(
  dialect: Dialect,
  importer: DriverImporter = importDriverPackage,
): Promise<DriverModules[(typeof DRIVER_PACKAGES)[Dialect]]> {
  const name = DRIVER_PACKAGES[dialect];
  try {
    return await importer(name);
  } catch (error) {
    if (!isMissingPackage(error, name)) throw error;
    throw new FatalError(
      `the ${dialect} dialect of the database destination needs the package "${name}", which is not installed: ` +
        `run \`npm install ${name}\` next to @sluice/destinations-database`,
      { cause: error, details: { dialect, package: name } },
    );
  }
}
