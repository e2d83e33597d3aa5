/**
 * A throw-away database on the shared PostgreSQL for this package's tests. Not exported.
 *
 * @packageDocumentation
 */
import pg from 'pg';

/** The shared server; only the database name differs per test file. */
export const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * (Re)creates database `name` and returns its URL.
 *
 * @example
 * ```ts
 * const url = await createTestDatabase('sluice_sched_test');
 * ```
 */
export async function createTestDatabase(name: string): Promise<string> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

/**
 * Drops database `name`, disconnecting whoever is still connected.
 *
 * @example
 * ```ts
 * await dropTestDatabase('sluice_sched_test');
 * ```
 */
export async function dropTestDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Terminates every connection to database `name` except this one: what clients see when the
 * server restarts, without stopping a server other people use.
 *
 * @example
 * ```ts
 * await terminateConnections('sluice_sched_fault_test'); // 7
 * ```
 */
export async function terminateConnections(name: string): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const result = await client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}
