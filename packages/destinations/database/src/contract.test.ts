// The @sluice/testing contract suite, once per SQL dialect and write path: SQLite (node:sqlite, a
// temporary file), PostgreSQL (multi-row VALUES and COPY, each in insert and upsert mode) and
// MariaDB/MySQL, each against the machine's real server. Transient failures come from a TCP
// proxy taken down (PostgreSQL, MariaDB) or a second connection holding SQLite's write lock.
// The dialect files (sqlite.test.ts, postgres.test.ts, mysql.test.ts) hold each dialect's own
// scenarios.
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type pg from 'pg';
import type mysql from 'mysql2/promise';
import { testDestination } from '@sluice/testing';
import { startTcpProxy, type TcpProxy } from '@sluice/testing/fakes';
import { databaseDestination } from './destination.js';
import type { DatabaseConfig } from './config.js';
import {
  contractColumns,
  nextTable,
  normaliseRows,
  partialFailure,
} from './__fixtures__/contract.js';
import { pgSchema, pgUrl } from './__fixtures__/postgres.js';
import { dropMysqlTables, mysqlAdmin, mysqlUrl } from './__fixtures__/mysql.js';

const PG_SCHEMA = `dest_db_contract_${process.pid}`;
const MYSQL_PREFIX = `contract_${process.pid}`;
let sqliteDir: string;
let sqliteFile: string;
let pgAdmin: pg.Client;
let pgProxy: TcpProxy;
let myAdmin: mysql.Connection;
let myProxy: TcpProxy;

beforeAll(async () => {
  sqliteDir = mkdtempSync(join(tmpdir(), 'sluice-dest-db-contract-'));
  sqliteFile = join(sqliteDir, 'test.db');
  pgAdmin = await pgSchema(PG_SCHEMA);
  pgProxy = await startTcpProxy(5432);
  myAdmin = await mysqlAdmin();
  myProxy = await startTcpProxy(3306);
});

afterAll(async () => {
  rmSync(sqliteDir, { recursive: true, force: true });
  await pgAdmin?.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
  await pgAdmin?.end();
  await pgProxy?.close();
  if (myAdmin) await dropMysqlTables(myAdmin, MYSQL_PREFIX);
  await myProxy?.close();
});

/** A proxy taken down until the suite restores it. */
const proxyDown = (proxy: () => TcpProxy) => () => {
  proxy().down();
  return () => proxy().up();
};

// SQLite
for (const mode of ['upsert', 'insert'] as const) {
  testDestination<DatabaseConfig>({
    name: `database (sqlite, ${mode})`,
    definition: databaseDestination,
    config: () => ({
      dialect: 'sqlite',
      file: sqliteFile,
      table: nextTable('contract'),
      createTable: true,
      mode,
      ...(mode === 'upsert' ? { key: ['id'] } : {}),
      columns: contractColumns,
      busyTimeoutMs: 50,
    }),
    readBack: async (config) => {
      const db = new DatabaseSync(sqliteFile);
      try {
        return normaliseRows(
          db.prepare(`SELECT * FROM "${config.table}" ORDER BY 1`).all() as Record<
            string,
            unknown
          >[],
        );
      } finally {
        db.close();
      }
    },
    invalidConfigs: [
      {
        name: 'no file',
        config: { dialect: 'sqlite', table: 't', columns: contractColumns },
        path: 'file',
      },
      {
        name: 'unknown dialect',
        config: { dialect: 'oracle', table: 't', columns: contractColumns },
        path: 'dialect',
      },
      {
        name: 'no columns',
        config: { dialect: 'sqlite', file: 'x.db', table: 't', columns: [] },
        path: 'columns',
      },
    ],
    transientFailure: {
      // Another connection holds the write lock: the destination's BEGIN IMMEDIATE times out busy.
      inject: () => {
        const other = new DatabaseSync(sqliteFile);
        other.exec('BEGIN EXCLUSIVE');
        return () => {
          other.exec('ROLLBACK');
          other.close();
        };
      },
    },
    repeatBatch: { acrossInstances: true },
    // Insert mode leaves a missing `id` to the database, and SQLite turns a NULL into a new rowid
    // for an INTEGER PRIMARY KEY instead of refusing it: the fixture's record 3 is written there.
    ...(mode === 'upsert' ? { partialFailure } : {}),
  });
}

// PostgreSQL
for (const variant of [
  { label: 'values, upsert', extra: { mode: 'upsert', key: ['id'] } },
  { label: 'values, insert', extra: { mode: 'insert' } },
  { label: 'COPY, insert', extra: { mode: 'insert', bulk: 'copy', bulkThreshold: 1 } },
  { label: 'COPY, upsert', extra: { mode: 'upsert', key: ['id'], bulk: 'copy', bulkThreshold: 1 } },
]) {
  testDestination<DatabaseConfig>({
    name: `database (postgres, ${variant.label})`,
    definition: databaseDestination,
    config: () => ({
      dialect: 'postgres',
      url: pgUrl(pgProxy.port),
      table: `${PG_SCHEMA}.${nextTable('contract')}`,
      createTable: true,
      columns: contractColumns,
      connectTimeoutMs: 2000,
      ...variant.extra,
    }),
    readBack: async (config) =>
      normaliseRows((await pgAdmin.query(`SELECT * FROM ${config.table} ORDER BY 1`)).rows),
    invalidConfigs: [
      {
        name: 'table with SQL in it',
        config: {
          dialect: 'postgres',
          url: pgUrl(),
          table: 't; drop table x',
          columns: contractColumns,
        },
        path: 'table',
      },
      {
        name: 'unknown column type',
        config: {
          dialect: 'postgres',
          url: pgUrl(),
          table: 't',
          columns: [{ name: 'a', type: 'varchar' }],
        },
        path: 'columns[0].type',
      },
      {
        name: 'upsert without key',
        config: {
          dialect: 'postgres',
          url: pgUrl(),
          table: 't',
          mode: 'upsert',
          columns: contractColumns,
        },
        path: 'key',
      },
      {
        name: 'key not a column',
        config: {
          dialect: 'postgres',
          url: pgUrl(),
          table: 't',
          mode: 'upsert',
          key: ['nope'],
          columns: contractColumns,
        },
        path: 'key[0]',
      },
      {
        name: 'non-singular JSONPath',
        config: {
          dialect: 'postgres',
          url: pgUrl(),
          table: 't',
          columns: [{ name: 'a', type: 'text', from: '$..a' }],
        },
        path: 'columns[0].from',
      },
      {
        name: 'wrong url scheme',
        config: { dialect: 'postgres', url: 'mysql://x', table: 't', columns: contractColumns },
        path: 'url',
      },
    ],
    transientFailure: { inject: proxyDown(() => pgProxy) },
    // The delivery ledger (insert) and upserts both live in the database: a take-over's repeat is absorbed too.
    repeatBatch: { acrossInstances: true },
    partialFailure,
  });
}

// MariaDB / MySQL
for (const mode of ['upsert', 'insert'] as const) {
  testDestination<DatabaseConfig>({
    name: `database (mysql/mariadb, ${mode})`,
    definition: databaseDestination,
    config: () => ({
      dialect: 'mysql',
      url: mysqlUrl(myProxy.port),
      table: nextTable(MYSQL_PREFIX),
      createTable: true,
      mode,
      ...(mode === 'upsert' ? { key: ['id'] } : {}),
      columns: contractColumns,
      connectTimeoutMs: 2000,
    }),
    readBack: async (config) => {
      const [rows] = await myAdmin.query(`SELECT * FROM \`${config.table}\` ORDER BY 1`);
      return normaliseRows(rows as Record<string, unknown>[]);
    },
    invalidConfigs: [
      {
        name: 'column name with a backtick',
        config: {
          dialect: 'mysql',
          url: mysqlUrl(),
          table: 't',
          columns: [{ name: 'a`b', type: 'text' }],
        },
        path: 'columns[0].name',
      },
      {
        name: 'duplicate column',
        config: {
          dialect: 'mysql',
          url: mysqlUrl(),
          table: 't',
          columns: [
            { name: 'a', type: 'text' },
            { name: 'A', type: 'text' },
          ],
        },
        path: 'columns[1].name',
      },
      {
        name: 'no url',
        config: { dialect: 'mysql', table: 't', columns: contractColumns },
        path: 'url',
      },
    ],
    transientFailure: { inject: proxyDown(() => myProxy) },
    // The delivery ledger (insert) and upserts both live in the database: a take-over's repeat is absorbed too.
    repeatBatch: { acrossInstances: true },
    partialFailure,
  });
}
