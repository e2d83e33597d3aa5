/** A private database and schema on the machine's PostgreSQL for one test file. */
import pg from 'pg';

export const PG_DATABASE = 'sluice_dest_db_test';
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function pgUrl(port = 5432): string {
  return `postgres://postgres@127.0.0.1:${port}/${PG_DATABASE}`;
}

export async function ensurePgDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [PG_DATABASE]);
    if (found.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${PG_DATABASE}`).catch((err: { code?: string }) => {
        // Another test file created it at the same moment.
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await admin.end();
  }
}

/** A client on the private database; creates `schema` fresh. */
export async function pgSchema(schema: string): Promise<pg.Client> {
  await ensurePgDatabase();
  const client = new pg.Client({ connectionString: pgUrl() });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.query(`CREATE SCHEMA ${schema}`);
  return client;
}
