/**
 * Test databases: a PostgreSQL database of its own per test file on the machine's server, and
 * one PGlite per test file in a temporary folder (opening one costs ~0.4 s, creating ~2.5 s, so
 * tests share it and isolate themselves with schemas).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

// The machine's PostgreSQL (trust auth); every test file creates and drops a database of its own.
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database created for one test file. */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates (after dropping a leftover) the database `name` and returns its URL. */
export async function createTestDatabase(name: string): Promise<TestDatabase> {
  if (!/^sluice_store_test_[a-z0-9_]+$/.test(name))
    throw new Error(`unexpected test database name ${name}`);
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  });
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    name,
    drop: () =>
      admin(
        async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
      ),
  };
}

/** Runs SQL on a database with a short-lived client of its own. */
export async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A PGlite in a fresh temporary folder, and how to close and delete it. */
export interface TestPGlite {
  pglite: PGlite;
  dir: string;
  dispose(): Promise<void>;
}

/** Opens a PGlite in a new temporary data folder. */
export async function openTestPGlite(): Promise<TestPGlite> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-store-'));
  const pglite = await PGlite.create(dir);
  return {
    pglite,
    dir,
    async dispose() {
      if (!pglite.closed) await pglite.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A schema name unique within the process, for tests that share one database. */
export function uniqueSchema(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}
