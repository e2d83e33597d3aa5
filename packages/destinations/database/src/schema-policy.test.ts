/**
 * The schema policy on real databases: every action × every change (new table, new column,
 * type change) on PostgreSQL, MariaDB and SQLite, through the public destination API. Each test
 * asserts the table afterwards (information_schema / pragma), the rows, the dead letters and
 * their reasons, and the metrics; then the bad input of issue 21 on PostgreSQL and MariaDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import mysql from 'mysql2/promise';
import type pg from 'pg';
import type { FatalError } from '@sluice/core';
import {
  ConfigError,
  PartialBatchError,
  createMemoryMetrics,
  createPluginContext,
  parseConfig,
  type MemoryMetrics,
  type SchemaChangeEvent,
  type SluiceRecord,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { databaseDestination } from './destination.js';
import type { DatabaseConfig } from './config.js';
import { nextTable } from './__fixtures__/contract.js';
import { pgSchema, pgUrl } from './__fixtures__/postgres.js';

// One schema per test process: two runs of this file at once (other sessions) never drop each other's.
const PG_SCHEMA = `schema_policy_${process.pid}`;
const MY_DATABASE = 'sluice_dest_db_test';
const MY_PREFIX = `sp_${process.pid}`;

/** What the tests need of one database: its config, DDL by hand, and reading tables back. */
interface Target {
  dialect: 'postgres' | 'mysql' | 'sqlite';
  /** Connection part of the config. */
  connection(): Record<string, unknown>;
  /** A fresh table name (schema-qualified on PostgreSQL). */
  table(): string;
  /** Runs DDL written for this database (`<t>` is replaced by the quoted table name). */
  exec(sql: string, table: string): Promise<void>;
  /** Column name → the database's own type name (lower case); empty when the table is missing. */
  columns(table: string): Promise<Map<string, string>>;
  /** Every row, ordered by the first column. */
  rows(table: string): Promise<Record<string, unknown>[]>;
  /** The portable types as the database reports them. */
  types: { integer: string; bigint: string; text: string };
}

let pgClient: pg.Client;
let myAdmin: mysql.Connection;
let sqliteDir: string;
let sqliteFile: string;

const postgres: Target = {
  dialect: 'postgres',
  connection: () => ({ url: pgUrl() }),
  table: () => `${PG_SCHEMA}.${nextTable('sp')}`,
  async exec(ddl, table) {
    const [schema, name] = table.split('.');
    await pgClient.query(ddl.replace('<t>', `"${schema}"."${name}"`));
  },
  async columns(table) {
    const [schema, name] = table.split('.');
    const result = await pgClient.query<{ column_name: string; data_type: string }>(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
      [schema, name],
    );
    return new Map(result.rows.map((r) => [r.column_name, r.data_type.toLowerCase()]));
  },
  async rows(table) {
    const [schema, name] = table.split('.');
    return (await pgClient.query(`SELECT * FROM "${schema}"."${name}" ORDER BY 1`)).rows;
  },
  types: { integer: 'integer', bigint: 'bigint', text: 'text' },
};

const mariadb: Target = {
  dialect: 'mysql',
  connection: () => ({ url: `mysql://root@127.0.0.1:3306/${MY_DATABASE}` }),
  table: () => nextTable(MY_PREFIX),
  async exec(ddl, table) {
    await myAdmin.query(ddl.replace('<t>', `\`${table}\``));
  },
  async columns(table) {
    const [rows] = await myAdmin.query(
      'SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?',
      [MY_DATABASE, table],
    );
    return new Map(
      (rows as { name: string; type: string }[]).map((r) => [r.name, r.type.toLowerCase()]),
    );
  },
  async rows(table) {
    const [rows] = await myAdmin.query(`SELECT * FROM \`${table}\` ORDER BY 1`);
    return rows as Record<string, unknown>[];
  },
  types: { integer: 'int', bigint: 'bigint', text: 'text' },
};

function sqliteRead<T>(read: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(sqliteFile);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const sqlite: Target = {
  dialect: 'sqlite',
  connection: () => ({ file: sqliteFile }),
  table: () => nextTable('sp'),
  async exec(ddl, table) {
    sqliteRead((db) => db.exec(ddl.replace('<t>', `"${table}"`)));
  },
  async columns(table) {
    return sqliteRead(
      (db) =>
        new Map(
          (
            db.prepare('SELECT name, type FROM pragma_table_info(?)').all(table) as {
              name: string;
              type: string;
            }[]
          ).map((r) => [r.name, r.type.toLowerCase()]),
        ),
    );
  },
  async rows(table) {
    return sqliteRead(
      (db) => db.prepare(`SELECT * FROM "${table}" ORDER BY 1`).all() as Record<string, unknown>[],
    );
  },
  // SQLite has affinities: both integer types are INTEGER (64 bits).
  types: { integer: 'integer', bigint: 'integer', text: 'text' },
};

beforeAll(async () => {
  pgClient = await pgSchema(PG_SCHEMA);
  const bootstrap = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await bootstrap.query(`CREATE DATABASE IF NOT EXISTS ${MY_DATABASE}`);
  await bootstrap.end();
  myAdmin = await mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    database: MY_DATABASE,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  sqliteDir = mkdtempSync(join(tmpdir(), 'sluice-schema-policy-'));
  sqliteFile = join(sqliteDir, 'policy.db');
});

afterAll(async () => {
  if (pgClient) {
    await pgClient.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
    await pgClient.end();
  }
  if (myAdmin) {
    const [tables] = await myAdmin.query(
      'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE ?',
      [MY_DATABASE, `${MY_PREFIX}%`],
    );
    for (const { t } of tables as { t: string }[])
      await myAdmin.query(`DROP TABLE IF EXISTS \`${t}\``);
    await myAdmin.end();
  }
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
});

const signal = () => new AbortController().signal;

interface Opened {
  config: DatabaseConfig;
  metrics: MemoryMetrics;
  /** What the destination reported through the context's `onSchemaChange`. */
  events: SchemaChangeEvent[];
  write(records: SluiceRecord[]): Promise<PartialBatchError | undefined>;
  close(): Promise<void>;
}

async function open(target: Target, raw: Record<string, unknown>): Promise<Opened> {
  const config = parseConfig(databaseDestination.configSchema, {
    dialect: target.dialect,
    ...target.connection(),
    ...raw,
  }) as DatabaseConfig;
  const metrics = createMemoryMetrics();
  const events: SchemaChangeEvent[] = [];
  const instance = await databaseDestination.create(
    config,
    createPluginContext({ metrics, onSchemaChange: (event) => void events.push(event) }),
  );
  await instance.open?.();
  return {
    config,
    metrics,
    events,
    async write(records) {
      try {
        await instance.write(makeBatch(records), { signal: signal() });
        return undefined;
      } catch (err) {
        if (err instanceof PartialBatchError) return err;
        throw err;
      }
    },
    close: async () => instance.close?.(),
  };
}

/** Runs `body` with an open destination and closes it whatever happens. */
async function using<T>(
  target: Target,
  raw: Record<string, unknown>,
  body: (d: Opened) => Promise<T>,
): Promise<T> {
  const d = await open(target, raw);
  try {
    return await body(d);
  } finally {
    await d.close();
  }
}

const changes = (d: Opened, change: string, table: string) =>
  d.metrics.get('destination_database_schema_changes_total', { table, change }) as number;
const turnedAway = (d: Opened, kind: string, action: string, table: string) =>
  d.metrics.get('destination_database_schema_policy_total', { table, kind, action }) as number;

const ids = (rows: Record<string, unknown>[]) => rows.map((r) => Number(r.id));

const baseColumns = [
  { name: 'id', type: 'bigint', primaryKey: true },
  { name: 'name', type: 'text' },
];

for (const target of [postgres, mariadb, sqlite]) {
  describe(`schema policy on ${target.dialect === 'mysql' ? 'mariadb' : target.dialect}`, () => {
    describe('new table', () => {
      const records = [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ];

      it('evolve creates the table from the columns and delivers the rows', async () => {
        const table = target.table();
        await using(
          target,
          { table, columns: baseColumns, schema: { newTable: 'evolve' } },
          async (d) => {
            expect(await d.write(records)).toBeUndefined();
            expect([...(await target.columns(table)).keys()].sort()).toEqual(['id', 'name']);
            expect(ids(await target.rows(table))).toEqual([1, 2]);
            expect(changes(d, 'create_table', table)).toBe(1);
          },
        );
      });

      it('freeze dead-letters every record, naming the table', async () => {
        const table = target.table();
        await using(
          target,
          { table, columns: baseColumns, schema: { newTable: 'freeze' } },
          async (d) => {
            const err = await d.write(records);
            expect(err?.failed).toEqual([0, 1]);
            for (const failure of err!.failures) {
              expect(failure.error.message).toContain(`table "${table}" does not exist`);
              expect(failure.error.message).toContain('schema.newTable is freeze');
            }
            expect((await target.columns(table)).size).toBe(0);
            expect(turnedAway(d, 'new_table', 'freeze', table)).toBe(2);
            expect(changes(d, 'create_table', table)).toBe(0);
          },
        );
      });

      it('discard_row drops every record and leaves the database alone', async () => {
        const table = target.table();
        await using(
          target,
          { table, columns: baseColumns, schema: { newTable: 'discard_row' } },
          async (d) => {
            expect(await d.write(records)).toBeUndefined();
            expect((await target.columns(table)).size).toBe(0);
            expect(turnedAway(d, 'new_table', 'discard_row', table)).toBe(2);
          },
        );
      });

      it('discard_value is refused in config, naming schema.newTable', () => {
        let error: unknown;
        try {
          parseConfig(databaseDestination.configSchema, {
            dialect: target.dialect,
            ...target.connection(),
            table: 't',
            columns: baseColumns,
            schema: { newTable: 'discard_value' },
          });
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).issues).toEqual([
          expect.objectContaining({
            path: 'schema.newTable',
            message: expect.stringContaining('discard_value does not apply to a new table'),
          }),
        ]);
      });
    });

    describe('new column', () => {
      const records: SluiceRecord[] = [
        { id: 1, name: 'a' },
        { id: 2, name: 'b', utm: 'spring' },
        { id: 3, name: 'c' },
      ];
      const config = (table: string, newColumn: string) => ({
        table,
        createTable: true,
        columns: baseColumns,
        schema: { newColumn },
      });

      it('evolve adds the column (typed from the value) and delivers every row', async () => {
        const table = target.table();
        await using(target, config(table, 'evolve'), async (d) => {
          expect(await d.write(records)).toBeUndefined();
          expect((await target.columns(table)).get('utm')).toBe(target.types.text);
          const rows = await target.rows(table);
          expect(rows.map((r) => [Number(r.id), r.utm])).toEqual([
            [1, null],
            [2, 'spring'],
            [3, null],
          ]);
          expect(changes(d, 'add_column', table)).toBe(1);
          // Each change reaches the host (the server's schema-change log) with the DDL that ran.
          expect(d.events).toEqual([
            expect.objectContaining({
              change: 'create_table',
              table,
              statement: expect.stringMatching(/create table/i),
            }),
            expect.objectContaining({
              change: 'add_column',
              table,
              column: 'utm',
              to: 'text',
              statement: expect.stringMatching(/^alter table .* add column/i),
            }),
          ]);
          // The column is now known: the next batch is written without another change.
          expect(await d.write([{ id: 4, name: 'd', utm: 'summer' }])).toBeUndefined();
          expect(changes(d, 'add_column', table)).toBe(1);
          expect((await target.rows(table))[3]).toMatchObject({ utm: 'summer' });
        });
      });

      it('evolve on a second instance adopts the columns the first added (JSON, boolean), without a change', async () => {
        const table = target.table();
        const record = { id: 1, name: 'a', meta: { src: 'ga4' }, paid: true };
        await using(target, config(table, 'evolve'), async (first) => {
          expect(await first.write([record])).toBeUndefined();
          expect(changes(first, 'add_column', table)).toBe(2);
        });
        // A fresh instance (a replica, the next process) knows only the declared columns; the
        // table reports JSON as longtext (MariaDB) or TEXT (SQLite), booleans as INTEGER (SQLite).
        await using(target, config(table, 'evolve'), async (second) => {
          expect(
            await second.write([{ id: 2, name: 'b', meta: { src: 'hubspot' }, paid: false }]),
          ).toBeUndefined();
          expect(changes(second, 'add_column', table)).toBe(0);
          expect(turnedAway(second, 'type_change', 'freeze', table)).toBe(0);
        });
        const rows = await target.rows(table);
        const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
        expect(rows.map((r) => [json(r.meta), Boolean(Number(r.paid))])).toEqual([
          [{ src: 'ga4' }, true],
          [{ src: 'hubspot' }, false],
        ]);
      });

      it('freeze dead-letters the record, naming table, column, value and type', async () => {
        const table = target.table();
        await using(target, config(table, 'freeze'), async (d) => {
          const err = await d.write(records);
          expect(err?.failed).toEqual([1]);
          const message = err!.failures[0]!.error.message;
          expect(message).toContain(`table "${table}"`);
          expect(message).toContain('column "utm"');
          expect(message).toContain('"spring"');
          expect(message).toContain('text');
          expect(message).toContain('schema.newColumn is freeze');
          expect((err!.failures[0]!.error as FatalError).details).toMatchObject({
            table,
            column: 'utm',
            value: '"spring"',
            expected: 'text',
          });
          expect((await target.columns(table)).has('utm')).toBe(false);
          expect(ids(await target.rows(table))).toEqual([1, 3]);
          expect(turnedAway(d, 'new_column', 'freeze', table)).toBe(1);
          expect(changes(d, 'add_column', table)).toBe(0);
        });
      });

      it('discard_row drops the record and delivers the others', async () => {
        const table = target.table();
        await using(target, config(table, 'discard_row'), async (d) => {
          expect(await d.write(records)).toBeUndefined();
          expect((await target.columns(table)).has('utm')).toBe(false);
          expect(ids(await target.rows(table))).toEqual([1, 3]);
          expect(turnedAway(d, 'new_column', 'discard_row', table)).toBe(1);
        });
      });

      it('discard_value delivers every record without the field', async () => {
        const table = target.table();
        await using(target, config(table, 'discard_value'), async (d) => {
          expect(await d.write(records)).toBeUndefined();
          expect((await target.columns(table)).has('utm')).toBe(false);
          expect(ids(await target.rows(table))).toEqual([1, 2, 3]);
          expect(turnedAway(d, 'new_column', 'discard_value', table)).toBe(1);
        });
      });
    });

    describe('type change', () => {
      // 3 000 000 000 does not fit a 32-bit integer column.
      const records = [
        { id: 1, n: 1 },
        { id: 2, n: 3_000_000_000 },
        { id: 3, n: 3 },
      ];
      const config = (table: string, typeChange: string) => ({
        table,
        createTable: true,
        columns: [
          { name: 'id', type: 'bigint', primaryKey: true },
          { name: 'n', type: 'integer' },
        ],
        schema: { typeChange },
      });

      it('evolve widens the column and delivers every row', async () => {
        const table = target.table();
        await using(target, config(table, 'evolve'), async (d) => {
          expect(await d.write(records)).toBeUndefined();
          expect((await target.columns(table)).get('n')).toBe(target.types.bigint);
          expect((await target.rows(table)).map((r) => Number(r.n))).toEqual([1, 3_000_000_000, 3]);
          // SQLite's INTEGER holds 64 bits already: the table needs no change there.
          expect(changes(d, 'widen_column', table)).toBe(target.dialect === 'sqlite' ? 0 : 1);
          if (target.dialect !== 'sqlite')
            expect(d.events[1]).toMatchObject({
              change: 'widen_column',
              table,
              column: 'n',
              from: 'integer',
              to: 'bigint',
            });
        });
      });

      it('evolve dead-letters a value no widening can hold', async () => {
        const table = target.table();
        await using(target, config(table, 'evolve'), async (d) => {
          const err = await d.write([
            { id: 1, n: 1 },
            { id: 2, n: 'many' },
          ]);
          expect(err?.failed).toEqual([1]);
          expect(err!.failures[0]!.error.message).toMatch(
            /table "[^"]+" column "n" expects integer and cannot be widened safely for value "many"/,
          );
          expect((await target.columns(table)).get('n')).toBe(target.types.integer);
          expect(ids(await target.rows(table))).toEqual([1]);
          expect(turnedAway(d, 'type_change', 'freeze', table)).toBe(1);
          expect(changes(d, 'widen_column', table)).toBe(0);
        });
      });

      it('freeze dead-letters the record, naming table, column, value and expected type', async () => {
        const table = target.table();
        await using(target, config(table, 'freeze'), async (d) => {
          const err = await d.write(records);
          expect(err?.failed).toEqual([1]);
          const message = err!.failures[0]!.error.message;
          expect(message).toContain(`table "${table}"`);
          expect(message).toContain('column "n"');
          expect(message).toContain('3000000000');
          expect(message).toContain('integer');
          expect(message).toContain('schema.typeChange is freeze');
          expect((err!.failures[0]!.error as FatalError).details).toMatchObject({
            table,
            column: 'n',
            value: '3000000000',
            expected: 'integer',
          });
          expect((await target.columns(table)).get('n')).toBe(target.types.integer);
          expect(ids(await target.rows(table))).toEqual([1, 3]);
          expect(turnedAway(d, 'type_change', 'freeze', table)).toBe(1);
        });
      });

      it('discard_row drops the record and delivers the others', async () => {
        const table = target.table();
        await using(target, config(table, 'discard_row'), async (d) => {
          expect(await d.write(records)).toBeUndefined();
          expect(ids(await target.rows(table))).toEqual([1, 3]);
          expect(turnedAway(d, 'type_change', 'discard_row', table)).toBe(1);
        });
      });

      it('discard_value writes null instead of the value', async () => {
        const table = target.table();
        await using(target, config(table, 'discard_value'), async (d) => {
          expect(await d.write(records)).toBeUndefined();
          expect(
            (await target.rows(table)).map((r) => (r.n === null ? null : Number(r.n))),
          ).toEqual([1, null, 3]);
          expect((await target.columns(table)).get('n')).toBe(target.types.integer);
          expect(turnedAway(d, 'type_change', 'discard_value', table)).toBe(1);
        });
      });
    });
  });
}

for (const target of [postgres, mariadb]) {
  const name = target.dialect === 'mysql' ? 'mariadb' : 'postgres';
  describe(`schema policy against a table made by hand on ${name}`, () => {
    const declared = {
      createTable: false,
      columns: [
        { name: 'id', type: 'bigint' },
        { name: 'n', type: 'bigint', nullable: false },
      ],
    };
    const ddl = `CREATE TABLE <t> (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 7)`;

    it('checks values against the column as the table has it, and widens keeping NOT NULL and DEFAULT', async () => {
      const table = target.table();
      await target.exec(ddl, table);
      await using(target, { table, ...declared, schema: { typeChange: 'evolve' } }, async (d) => {
        expect(
          await d.write([
            { id: 1, n: 1 },
            { id: 2, n: 3_000_000_000 },
          ]),
        ).toBeUndefined();
        expect(changes(d, 'widen_column', table)).toBe(1);
      });
      expect((await target.columns(table)).get('n')).toBe(target.types.bigint);
      expect((await target.rows(table)).map((r) => Number(r.n))).toEqual([1, 3_000_000_000]);
      const [schema, bare] = table.includes('.') ? table.split('.') : [MY_DATABASE, table];
      let definition: { nullable: string; fallback: unknown };
      if (target.dialect === 'postgres') {
        definition = (
          await pgClient.query(
            'SELECT is_nullable AS nullable, column_default AS fallback FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3',
            [schema, bare, 'n'],
          )
        ).rows[0];
      } else {
        const [rows] = await myAdmin.query(
          'SELECT is_nullable AS nullable, column_default AS fallback FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = ?',
          [schema, bare, 'n'],
        );
        definition = (rows as { nullable: string; fallback: unknown }[])[0]!;
      }
      expect(definition.nullable).toBe('NO');
      expect(String(definition.fallback)).toBe('7');
    });

    it('freeze dead-letters a value the table column cannot hold, before the database refuses it', async () => {
      const table = target.table();
      await target.exec(ddl, table);
      await using(target, { table, ...declared, schema: { typeChange: 'freeze' } }, async (d) => {
        const err = await d.write([
          { id: 1, n: 1 },
          { id: 2, n: 3_000_000_000 },
          { id: 3, n: 3 },
        ]);
        expect(err?.failed).toEqual([1]);
        expect(err!.failures[0]!.error.message).toMatch(
          /column "n" \(integer\) from field "n": 3000000000 is out of range for a 32-bit integer; schema.typeChange is freeze/,
        );
        expect(turnedAway(d, 'type_change', 'freeze', table)).toBe(1);
      });
      expect(ids(await target.rows(table))).toEqual([1, 3]);
      expect((await target.columns(table)).get('n')).toBe(target.types.integer);
    });

    it('newColumn evolve adds a declared column the table lacks, and adds it back when it is dropped', async () => {
      const table = target.table();
      await target.exec(`CREATE TABLE <t> (id bigint PRIMARY KEY, name text)`, table);
      await using(
        target,
        {
          table,
          createTable: false,
          columns: [...baseColumns, { name: 'utm', type: 'text' }],
          schema: { newColumn: 'evolve' },
        },
        async (d) => {
          expect(await d.write([{ id: 1, name: 'a', utm: 'x' }])).toBeUndefined();
          expect((await target.columns(table)).get('utm')).toBe(target.types.text);
          expect(changes(d, 'add_column', table)).toBe(1);
          // Dropped behind the destination's back: the write's undefined-column error (42703 /
          // 1054) makes it read the table again and add the column back.
          await target.exec('ALTER TABLE <t> DROP COLUMN utm', table);
          expect(await d.write([{ id: 2, name: 'b', utm: 'y' }])).toBeUndefined();
          expect(changes(d, 'add_column', table)).toBe(2);
          expect((await target.rows(table)).map((r) => [Number(r.id), r.utm])).toEqual([
            [1, null],
            [2, 'y'],
          ]);
        },
      );
    });

    it('counts a value the database refuses for its type (by error code) as a type change', async () => {
      const table = target.table();
      await target.exec(`CREATE TABLE <t> (id bigint PRIMARY KEY, s varchar(3))`, table);
      await using(
        target,
        {
          table,
          createTable: false,
          columns: [
            { name: 'id', type: 'bigint' },
            { name: 's', type: 'text' },
          ],
        },
        async (d) => {
          const err = await d.write([
            { id: 1, s: 'ok' },
            { id: 2, s: 'too long' },
          ]);
          expect(err?.failed).toEqual([1]);
          expect(err!.failures[0]!.error.message).toContain('the database rejected the record');
          expect(turnedAway(d, 'type_change', 'freeze', table)).toBe(1);
        },
      );
      expect(ids(await target.rows(table))).toEqual([1]);
    });
  });
}

for (const target of [postgres, mariadb]) {
  const name = target.dialect === 'mysql' ? 'mariadb' : 'postgres';
  describe(`schema policy: bad input on ${name}`, () => {
    const typed = (table: string, typeChange: string) => ({
      table,
      createTable: true,
      columns: [
        { name: 'id', type: 'bigint', primaryKey: true },
        { name: 'n', type: 'integer' },
      ],
      schema: { typeChange },
    });
    const batch: SluiceRecord[] = [
      { id: 1, n: 1 },
      { id: 2, n: 2 },
      { id: 3, n: 'three' },
      { id: 4, n: 4 },
      { id: 5, n: 5 },
    ];

    it('a type change in the middle of a batch: rows before and after it are delivered (freeze)', async () => {
      const table = target.table();
      await using(target, typed(table, 'freeze'), async (d) => {
        const err = await d.write(batch);
        expect(err?.failed).toEqual([2]);
        expect(err!.failures[0]!.error.message).toContain('"three"');
        expect(ids(await target.rows(table))).toEqual([1, 2, 4, 5]);
      });
    });

    it('a type change in the middle of a batch under discard_value and evolve', async () => {
      const table = target.table();
      await using(target, typed(table, 'discard_value'), async (d) => {
        expect(await d.write(batch)).toBeUndefined();
        expect((await target.rows(table)).map((r) => r.n && Number(r.n))).toEqual([
          1,
          2,
          null,
          4,
          5,
        ]);
      });
      const wide = target.table();
      await using(target, typed(wide, 'evolve'), async (d) => {
        const records = batch.map((r) => (r.id === 3 ? { id: 3, n: 2 ** 40 } : r));
        expect(await d.write(records)).toBeUndefined();
        expect((await target.rows(wide)).map((r) => Number(r.n))).toEqual([1, 2, 2 ** 40, 4, 5]);
        expect((await target.columns(wide)).get('n')).toBe(target.types.bigint);
      });
    });

    it('values overflowing the column: past int32 widens to bigint, past int64 to numeric, and freeze names the range', async () => {
      const table = target.table();
      await using(target, typed(table, 'evolve'), async (d) => {
        expect(await d.write([{ id: 1, n: 2 ** 31 }])).toBeUndefined();
        expect((await target.columns(table)).get('n')).toBe(target.types.bigint);
        expect(await d.write([{ id: 2, n: '9223372036854775808' }])).toBeUndefined();
        expect((await target.columns(table)).get('n')).toBe(
          target.dialect === 'postgres' ? 'numeric' : 'decimal',
        );
        expect(changes(d, 'widen_column', table)).toBe(2);
        const rows = await target.rows(table);
        expect(rows.map((r) => String(r.n).replace(/\.0+$/, ''))).toEqual([
          String(2 ** 31),
          '9223372036854775808',
        ]);
      });
      const frozen = target.table();
      await using(target, typed(frozen, 'freeze'), async (d) => {
        const err = await d.write([{ id: 1, n: -(2 ** 31) - 1 }]);
        expect(err!.failures[0]!.error.message).toContain(
          '-2147483649 is out of range for a 32-bit integer',
        );
      });
    });

    it('new columns whose names collide after case folding: the first is added, the other dead-lettered', async () => {
      const table = target.table();
      await using(
        target,
        { table, createTable: true, columns: baseColumns, schema: { newColumn: 'evolve' } },
        async (d) => {
          const err = await d.write([
            { id: 1, name: 'a', Foo: 'x' },
            { id: 2, name: 'b', foo: 'y' },
            { id: 3, name: 'c', NAME: 'z' },
          ]);
          expect(err?.failed).toEqual([1, 2]);
          expect(err!.failures[0]!.error.message).toContain(
            'field "foo" collides with column "Foo" after case folding',
          );
          expect(err!.failures[1]!.error.message).toContain(
            'field "NAME" collides with column "name" after case folding',
          );
          const columns = await target.columns(table);
          expect([...columns.keys()].filter((c) => c.toLowerCase() === 'foo')).toEqual(['Foo']);
          expect((await target.rows(table)).map((r) => [Number(r.id), r.Foo])).toEqual([[1, 'x']]);
          expect(changes(d, 'add_column', table)).toBe(1);
        },
      );
    });

    it('names longer than the identifier limit are refused, never cut; 63 characters are fine', async () => {
      const table = target.table();
      const longest = `c${'x'.repeat(62)}`;
      const tooLong = `c${'y'.repeat(63)}`;
      await using(
        target,
        { table, createTable: true, columns: baseColumns, schema: { newColumn: 'evolve' } },
        async (d) => {
          const err = await d.write([
            { id: 1, name: 'a', [longest]: 'fits' },
            { id: 2, name: 'b', [tooLong]: 'does not' },
          ]);
          expect(err?.failed).toEqual([1]);
          expect(err!.failures[0]!.error.message).toContain(
            'has 64 characters, more than the 63 a column name may have',
          );
          const columns = await target.columns(table);
          expect(columns.has(longest)).toBe(true);
          expect([...columns.keys()].some((c) => c.startsWith('cyyy'))).toBe(false);
          expect(ids(await target.rows(table))).toEqual([1]);
        },
      );
    });

    it('reserved words as column names are quoted and written', async () => {
      const table = target.table();
      await using(
        target,
        { table, createTable: true, columns: baseColumns, schema: { newColumn: 'evolve' } },
        async (d) => {
          expect(
            await d.write([{ id: 1, name: 'a', order: 7, select: 'yes', from: true }]),
          ).toBeUndefined();
          const columns = await target.columns(table);
          expect(columns.get('order')).toBe(target.types.bigint);
          expect(columns.get('select')).toBe(target.types.text);
          expect(columns.has('from')).toBe(true);
          const [row] = await target.rows(table);
          expect(Number(row!.order)).toBe(7);
          expect(row!.select).toBe('yes');
          expect(changes(d, 'add_column', table)).toBe(3);
        },
      );
    });

    it('two replicas evolving the same table at once: both succeed, each column is added once', async () => {
      const table = target.table();
      const raw = {
        table,
        createTable: true,
        columns: baseColumns,
        schema: { newColumn: 'evolve', typeChange: 'evolve' },
      };
      const a = await open(target, raw);
      const b = await open(target, raw);
      try {
        const results = await Promise.all([
          a.write([
            { id: 1, name: 'a', utm: 'x', n: 1 },
            { id: 2, name: 'a', n: 2 ** 40 },
          ]),
          b.write([
            { id: 3, name: 'b', utm: 'y', n: 2 },
            { id: 4, name: 'b', n: 2 ** 41 },
          ]),
        ]);
        expect(results).toEqual([undefined, undefined]);
        const columns = await target.columns(table);
        expect([...columns.keys()].sort()).toEqual(['id', 'n', 'name', 'utm']);
        expect(columns.get('n')).toBe(target.types.bigint);
        expect(ids(await target.rows(table))).toEqual([1, 2, 3, 4]);
        expect(changes(a, 'add_column', table) + changes(b, 'add_column', table)).toBe(2);
        expect(changes(a, 'create_table', table) + changes(b, 'create_table', table)).toBe(1);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}

describe('schema policy on the PostgreSQL COPY path', () => {
  it('a batch past bulkThreshold that grows a column and overflows another is COPYed after the changes', async () => {
    const table = postgres.table();
    const records: SluiceRecord[] = Array.from({ length: 600 }, (_, i) => ({
      id: i + 1,
      n: i === 399 ? 3_000_000_000 : i,
      ...(i >= 299 ? { utm: `u${i}` } : {}),
    }));
    await using(
      postgres,
      {
        table,
        createTable: true,
        bulk: 'copy',
        bulkThreshold: 500,
        columns: [
          { name: 'id', type: 'bigint', primaryKey: true },
          { name: 'n', type: 'integer' },
        ],
        schema: { newColumn: 'evolve', typeChange: 'evolve' },
      },
      async (d) => {
        expect(await d.write(records)).toBeUndefined();
        expect(changes(d, 'add_column', table)).toBe(1);
        expect(changes(d, 'widen_column', table)).toBe(1);
      },
    );
    const columns = await postgres.columns(table);
    expect(columns.get('n')).toBe('bigint');
    expect(columns.get('utm')).toBe('text');
    const rows = await postgres.rows(table);
    expect(rows).toHaveLength(600);
    expect(rows[399]).toMatchObject({ n: '3000000000', utm: 'u399' });
    expect(rows[298]!.utm).toBeNull();
  });
});
