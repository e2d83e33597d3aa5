/**
 * Opens a kysely instance for the configured dialect. PostgreSQL also exposes its `pg` pool,
 * because COPY needs a raw client; both share the same connections. The driver of the dialect
 * (`pg`, `mysql2`: optional peer dependencies) is imported here, on first use.
 */
import { Kysely, MysqlDialect, PostgresDialect } from 'kysely';
import type pg from 'pg';
import type { Logger } from '@sluice/core';
import type { DatabaseConfig } from './config.js';
import { loadDriver, type DriverImporter } from './drivers.js';
import { NodeSqliteDialect } from './node-sqlite-dialect.js';

/** An open connection to the target database. */
export interface DatabaseHandle {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly db: Kysely<any>;
  /** The PostgreSQL pool behind `db` (PostgreSQL only). */
  readonly pgPool?: pg.Pool;
  destroy(): Promise<void>;
}

const APPLICATION_NAME = 'sluice-destination-database';

/**
 * Opens the connection pool (lazily: nothing connects until the first query), after importing
 * the dialect's driver (`importDriver` replaces `import()` in tests).
 *
 * @throws FatalError naming the driver package to install when it is missing.
 *
 * @example
 * ```ts
 * const handle = await openDatabase(config, ctx.logger);
 * await handle.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
 * await handle.destroy();
 * ```
 */
export async function openDatabase(
  config: DatabaseConfig,
  logger: Logger,
  importDriver?: DriverImporter,
): Promise<DatabaseHandle> {
  switch (config.dialect) {
    case 'postgres': {
      const { Pool } = await loadDriver('postgres', importDriver);
      const pool = new Pool({
        connectionString: config.url,
        max: config.poolSize,
        connectionTimeoutMillis: config.connectTimeoutMs,
        application_name: APPLICATION_NAME,
        ...(config.lockTimeoutMs === undefined
          ? {}
          : { options: `-c lock_timeout=${config.lockTimeoutMs}` }),
      });
      // An idle client whose server went away emits 'error'; without a listener that would
      // crash the process. The pool drops the client and the next write reconnects.
      pool.on('error', (err) =>
        logger.warn({ err: err.message }, 'idle PostgreSQL connection failed'),
      );
      // A checked-out client has no pool listener either; its failing query rejects on its own,
      // the event only needs a listener so it cannot become an uncaught exception.
      pool.on('connect', (client) => {
        client.on('error', (err) =>
          logger.warn({ err: err.message }, 'PostgreSQL connection failed'),
        );
      });
      const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
      return { db, pgPool: pool, destroy: () => db.destroy() };
    }
    case 'mysql': {
      const { createPool: createMysqlPool } = await loadDriver('mysql', importDriver);
      const pool = createMysqlPool({
        uri: config.url.replace(/^mariadb:/, 'mysql:'),
        connectionLimit: config.poolSize,
        connectTimeout: config.connectTimeoutMs,
        timezone: 'Z',
        supportBigNumbers: true,
        bigNumberStrings: true,
        enableKeepAlive: true,
      });
      pool.on('connection', (connection) => {
        connection.on('error', (err: Error) =>
          logger.warn({ err: err.message }, 'MySQL connection failed'),
        );
      });
      const db = new Kysely({ dialect: new MysqlDialect({ pool }) });
      return { db, destroy: () => db.destroy() };
    }
    case 'sqlite': {
      const busyTimeoutMs = config.busyTimeoutMs;
      const file = config.file;
      const db = new Kysely({
        dialect: new NodeSqliteDialect({
          // Imported lazily: loading node:sqlite prints an experimental warning on Node 22, which
          // PostgreSQL and MySQL users should not see.
          database: async () => {
            const { DatabaseSync } = await import('node:sqlite');
            const database = new DatabaseSync(file, { timeout: busyTimeoutMs });
            if (file !== ':memory:') database.exec('PRAGMA journal_mode = WAL');
            return database;
          },
        }),
      });
      return { db, destroy: () => db.destroy() };
    }
  }
}
