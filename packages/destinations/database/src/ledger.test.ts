// The delivery ledger of insert mode on real PostgreSQL, MariaDB/MySQL and SQLite: a repeated
// batch writes nothing (same instance, a take-over's new instance, two writers at once), a failed
// transaction leaves no ledger row, partial batches stay consistent with their ledger row, and old
// ledger rows are pruned occasionally.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type pg from 'pg';
import mysql from 'mysql2/promise';
import {
  ConfigError,
  FatalError,
  PartialBatchError,
  capabilitiesOf,
  createMemoryMetrics,
  createPluginContext,
  parseConfig,
  type Batch,
  type Clock,
  type MemoryMetrics,
  type SluiceRecord,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { databaseDestination } from './destination.js';
import type { DatabaseConfig } from './config.js';
import { ledgerKey } from './ledger.js';
import { contractColumns, nextTable, normaliseRows } from './__fixtures__/contract.js';
import { pgSchema, pgUrl } from './__fixtures__/postgres.js';

const signal = () => new AbortController().signal;
const DAY = 86_400_000;

/** What a dialect's tests need: a config, and SQL run beside the destination. */
interface Harness {
  name: string;
  /** Config entries of this dialect (connection, table, ledger table). */
  config(table: string): Record<string, unknown>;
  /** Rows of a query, run on an admin connection. */
  query(sql: string, parameters?: unknown[]): Promise<Record<string, unknown>[]>;
  /** A statement making every insert into `table` fail after the ledger claim. */
  failInserts(table: string): string[];
  /** Undoes failInserts. */
  restoreInserts(table: string): string[];
  /** The quoted ledger table, as the config names it. */
  ledger(): string;
}

const PG_SCHEMA = `dest_db_ledger_${process.pid}`;
let pgAdmin: pg.Client;
const postgres = (bulk: 'values' | 'copy'): Harness => ({
  name: `postgres (${bulk})`,
  config: (table) => ({
    dialect: 'postgres',
    url: pgUrl(),
    table: `${PG_SCHEMA}.${table}`,
    bulk,
    bulkThreshold: bulk === 'copy' ? 1 : 500,
  }),
  query: async (sql, parameters) =>
    (await pgAdmin.query(sql, parameters)).rows as Record<string, unknown>[],
  failInserts: (table) => [
    `CREATE OR REPLACE FUNCTION ${PG_SCHEMA}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'inserts refused by the test'; END $$`,
    `CREATE TRIGGER refuse BEFORE INSERT ON ${PG_SCHEMA}.${table} FOR EACH ROW EXECUTE FUNCTION ${PG_SCHEMA}.refuse()`,
  ],
  restoreInserts: (table) => [`DROP TRIGGER refuse ON ${PG_SCHEMA}.${table}`],
  ledger: () => `${PG_SCHEMA}._sluice_batches`,
});

const MY_DATABASE = 'sluice_dest_db_test';
const MY_PREFIX = `ml_${process.pid}`;
let myAdmin: mysql.Connection;
const mariadb: Harness = {
  name: 'mysql (MariaDB)',
  // Its own ledger table (the option), so this file's ledger rows are easy to drop.
  config: (table) => ({
    dialect: 'mysql',
    url: `mysql://root@127.0.0.1:3306/${MY_DATABASE}`,
    table,
    ledgerTable: `${MY_PREFIX}_ledger`,
  }),
  query: async (sql, parameters) =>
    (await myAdmin.query(sql.replace(/\$\d+/g, '?'), parameters))[0] as Record<string, unknown>[],
  failInserts: (table) => [
    `CREATE TRIGGER ${table}_refuse BEFORE INSERT ON ${table} FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'inserts refused by the test'`,
  ],
  restoreInserts: (table) => [`DROP TRIGGER ${table}_refuse`],
  ledger: () => `${MY_PREFIX}_ledger`,
};

let sqliteDir: string;
const sqliteFile = () => join(sqliteDir, 'ledger.db');
const sqlite: Harness = {
  name: 'sqlite',
  config: (table) => ({ dialect: 'sqlite', file: sqliteFile(), table }),
  query: async (sql, parameters = []) => {
    const db = new DatabaseSync(sqliteFile());
    try {
      const statement = db.prepare(sql.replace(/\$\d+/g, '?'));
      if (statement.columns().length > 0)
        return statement.all(...(parameters as never[])) as Record<string, unknown>[];
      statement.run(...(parameters as never[]));
      return [];
    } finally {
      db.close();
    }
  },
  // RAISE() would be a constraint (data) error, isolated row by row; a trigger writing to a
  // missing table fails every insert with a plain SQLITE_ERROR instead.
  failInserts: (table) => [
    `CREATE TRIGGER ${table}_refuse BEFORE INSERT ON ${table} BEGIN INSERT INTO no_such_table VALUES (1); END`,
  ],
  restoreInserts: (table) => [`DROP TRIGGER ${table}_refuse`],
  ledger: () => '_sluice_batches',
};

beforeAll(async () => {
  pgAdmin = await pgSchema(PG_SCHEMA);
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
  sqliteDir = mkdtempSync(join(tmpdir(), 'sluice-dest-db-ledger-'));
});

afterAll(async () => {
  await pgAdmin?.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
  await pgAdmin?.end();
  if (myAdmin) {
    const [tables] = await myAdmin.query(
      'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE ?',
      [MY_DATABASE, `${MY_PREFIX}%`],
    );
    for (const { t } of tables as { t: string }[])
      await myAdmin.query(`DROP TABLE IF EXISTS \`${t}\``);
    await myAdmin.end();
  }
  rmSync(sqliteDir, { recursive: true, force: true });
});

/** A clock the test moves by hand. */
function manualClock(start: number): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => now, sleep: () => Promise.resolve(), set: (ms) => void (now = ms) };
}

function tableFor(h: Harness, prefix: string): string {
  return h === mariadb ? `${MY_PREFIX}_${nextTable(prefix)}` : nextTable(prefix);
}

const records: SluiceRecord[] = [
  { id: 1, name: 'alpha', score: 1.5, active: true },
  { id: 2, name: 'beta', score: 0, active: false },
  { id: 3, name: 'gamma', score: -2, active: true },
];

for (const h of [postgres('values'), postgres('copy'), mariadb, sqlite]) {
  describe(`database destination delivery ledger: ${h.name}`, () => {
    async function open(table: string, extra: Record<string, unknown> = {}, clock?: Clock) {
      const config = parseConfig(databaseDestination.configSchema, {
        ...h.config(table),
        createTable: true,
        columns: contractColumns,
        ...extra,
      }) as DatabaseConfig;
      const metrics = createMemoryMetrics();
      const instance = await databaseDestination.create(
        config,
        createPluginContext({ metrics, ...(clock ? { clock } : {}) }),
      );
      await instance.open?.();
      return { config, instance, metrics };
    }

    const rowsOf = async (config: DatabaseConfig) =>
      normaliseRows(await h.query(`SELECT * FROM ${config.table} ORDER BY id`));
    const ledgerRows = (config: DatabaseConfig) =>
      h.query(
        `SELECT batch_id, row_count, failed FROM ${h.ledger()} WHERE table_name = $1 ORDER BY batch_id`,
        [config.table],
      );
    const repeats = (metrics: MemoryMetrics, config: DatabaseConfig) =>
      metrics.get('destination_database_batches_total', {
        table: config.table,
        outcome: 'repeat',
      }) as number;

    it('declares idempotency "batch" and writes a repeated batch once (same instance, then a take-over)', async () => {
      const table = tableFor(h, 'repeat');
      const first = await open(table);
      const batch: Batch = { ...makeBatch(records), recordKeys: records.map((_, i) => `k${i}`) };
      try {
        expect(capabilitiesOf(databaseDestination, first.config)).toMatchObject({
          idempotent: true,
          idempotency: 'batch',
        });
        await first.instance.write(batch, { signal: signal() });
        // A retry after a lost acknowledgement: same id, next attempt.
        await first.instance.write({ ...batch, attempt: 2 }, { signal: signal() });
        expect(await rowsOf(first.config)).toEqual(records);
        expect(repeats(first.metrics, first.config)).toBe(1);
        expect(
          first.metrics.get('destination_database_batches_total', {
            table: first.config.table,
            outcome: 'written',
          }),
        ).toBe(1);
      } finally {
        await first.instance.close?.();
      }
      // A take-over: another instance (another process) re-reads and re-sends the same batch.
      const takeOver = await open(table);
      try {
        await takeOver.instance.write(batch, { signal: signal() });
        expect(await rowsOf(takeOver.config)).toEqual(records);
        expect(repeats(takeOver.metrics, takeOver.config)).toBe(1);
        const ledger = await ledgerRows(takeOver.config);
        expect(ledger).toHaveLength(1);
        expect(ledger[0]).toMatchObject({ batch_id: batch.id, failed: null });
        expect(Number(ledger[0]!.row_count)).toBe(3);
      } finally {
        await takeOver.instance.close?.();
      }
    });

    if (h !== sqlite) {
      it('two writers of the same batch at once (a zombie and its take-over) write it once', async () => {
        const table = tableFor(h, 'race');
        const a = await open(table);
        const b = await open(table);
        try {
          const batch = makeBatch(records);
          await Promise.all([
            a.instance.write(batch, { signal: signal() }),
            b.instance.write(batch, { signal: signal() }),
          ]);
          expect(await rowsOf(a.config)).toEqual(records);
          expect(repeats(a.metrics, a.config) + repeats(b.metrics, b.config)).toBe(1);
        } finally {
          await a.instance.close?.();
          await b.instance.close?.();
        }
      });
    }

    it('a batch whose transaction fails leaves no ledger row, so its retry writes it', async () => {
      const table = tableFor(h, 'failing');
      const { config, instance } = await open(table);
      try {
        for (const statement of h.failInserts(table)) await h.query(statement);
        const batch = makeBatch(records);
        const error = await instance.write(batch, { signal: signal() }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        expect(error).not.toBeInstanceOf(PartialBatchError);
        expect(await ledgerRows(config)).toEqual([]);
        expect(await rowsOf(config)).toEqual([]);
        for (const statement of h.restoreInserts(table)) await h.query(statement);
        await instance.write({ ...batch, attempt: 2 }, { signal: signal() });
        expect(await rowsOf(config)).toEqual(records);
        expect((await ledgerRows(config)).map((r) => r.batch_id)).toEqual([batch.id]);
      } finally {
        await instance.close?.();
      }
    });

    it('a partial batch ledgers its written rows and failed indexes; its repeat writes nothing and reports the same indexes', async () => {
      const { config, instance, metrics } = await open(tableFor(h, 'partial'));
      try {
        const batch = makeBatch([
          { id: 1, name: 'ok', score: 1, active: true },
          { id: 2, name: 'ok', score: 2, active: false },
          { id: 1, name: 'duplicate key: the database rejects it', score: 3, active: true },
          { id: 4, name: 'not a number: refused before the database', score: 'many', active: true },
        ]);
        const first = await instance.write(batch, { signal: signal() }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(first).toBeInstanceOf(PartialBatchError);
        expect((first as PartialBatchError).failed).toEqual([2, 3]);
        const written = [batch.records[0], batch.records[1]];
        expect(await rowsOf(config)).toEqual(written);
        const ledger = await ledgerRows(config);
        expect(ledger).toHaveLength(1);
        expect(JSON.parse(String(ledger[0]!.failed))).toEqual([2]);
        expect(Number(ledger[0]!.row_count)).toBe(2);

        const repeat = await instance.write({ ...batch, attempt: 1 }, { signal: signal() }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(repeat).toBeInstanceOf(PartialBatchError);
        expect((repeat as PartialBatchError).failed).toEqual([2, 3]);
        for (const f of (repeat as PartialBatchError).failures)
          expect(f.error).toBeInstanceOf(FatalError);
        expect((repeat as PartialBatchError).failures[0]!.error.message).toContain('first written');
        expect(await rowsOf(config)).toEqual(written);
        expect(repeats(metrics, config)).toBe(1);

        // A partial retry (`<id>-r<n>`, here of the rejected record with a new key) is a batch of its own.
        const retry: Batch = {
          ...batch,
          id: `${batch.id}-r2`,
          records: [{ id: 9, name: 'fixed', score: 3, active: true }],
          attempt: 2,
        };
        await instance.write(retry, { signal: signal() });
        await instance.write(retry, { signal: signal() });
        expect(await rowsOf(config)).toEqual([...written, retry.records[0]]);
        expect((await ledgerRows(config)).map((r) => r.batch_id)).toEqual([batch.id, retry.id]);
      } finally {
        await instance.close?.();
      }
    });

    it('a dead-letter replay of a rejected record (same batch id, fewer record keys) is written, once', async () => {
      const { config, instance, metrics } = await open(tableFor(h, 'replay'));
      try {
        const original: Batch = {
          ...makeBatch([
            { id: 7, name: 'conflicts with a row already there', score: 1, active: true },
            { id: 8, name: 'ok', score: 2, active: false },
            { id: 9, name: 'ok too', score: 3, active: true },
          ]),
          recordKeys: ['k7', 'k8', 'k9'],
        };
        await h.query(
          `INSERT INTO ${config.table} (id, name, score, active) VALUES (7, 'in the way', 0, ${h.name.startsWith('postgres') ? 'true' : '1'})`,
        );
        const first = await instance.write(original, { signal: signal() }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((first as PartialBatchError).failed).toEqual([0]);
        // The operator removes the row in the way and replays the dead letter: the router keeps
        // the first delivery's batch id (the record was first in it) and its record key.
        await h.query(`DELETE FROM ${config.table} WHERE id = 7`);
        const replay: Batch = {
          ...original,
          records: [original.records[0]!],
          recordKeys: ['k7'],
          source: 'replay',
        };
        await instance.write(replay, { signal: signal() });
        await instance.write(replay, { signal: signal() });
        const again = await instance.write(original, { signal: signal() }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((again as PartialBatchError).failed).toEqual([0]);
        expect(await rowsOf(config)).toEqual(original.records);
        expect(repeats(metrics, config)).toBe(2);
        expect((await ledgerRows(config)).map((r) => r.batch_id)).toEqual([
          original.id,
          original.id,
        ]);
      } finally {
        await instance.close?.();
      }
    });

    it('prunes ledger rows older than the retention on open, then at most once an hour', async () => {
      const start = Date.UTC(2026, 10, 1);
      const clock = manualClock(start);
      const table = tableFor(h, 'prune');
      const ancient = (id: string) =>
        h.query(
          `INSERT INTO ${h.ledger()} (table_name, batch_id, record_keys_digest, row_count, written_at_ms) VALUES ($1, $2, $3, $4, $5)`,
          [first.config.table, id, '', 1, start - 3 * DAY],
        );
      const ids = async () => (await ledgerRows(first.config)).map((r) => r.batch_id);
      // The first instance creates the tables (its own prune is done once it is closed).
      const first = await open(table, { ledgerRetentionDays: 2 }, clock);
      await first.instance.close?.();
      await ancient('before-open');
      const { config, instance } = await open(table, { ledgerRetentionDays: 2 }, clock);
      try {
        await expect.poll(ids, { timeout: 5000 }).toEqual([]);
        const old = makeBatch([records[0]!]);
        await instance.write(old, { signal: signal() });
        // Ten minutes after the open's prune: another row past the retention stays for now.
        await ancient('after-open');
        clock.set(start + 10 * 60_000);
        await instance.write(makeBatch([records[1]!]), { signal: signal() });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await ids()).toContain('after-open');
        // Three days on: the next write prunes `after-open` and the first batch, not the new one.
        clock.set(start + 3 * DAY);
        const recent = makeBatch([records[2]!]);
        await instance.write(recent, { signal: signal() });
        await instance.close?.(); // waits for the prune running in the background
        expect(await ids()).toEqual([recent.id]);
        expect(await rowsOf(config)).toEqual(records);
      } finally {
        await instance.close?.();
      }
    });

    it('ledger: false is at-least-once: no idempotency, no ledger row, a repeat is written again', async () => {
      const columns = contractColumns.map((c) => ({ ...c, primaryKey: false }));
      const { config, instance } = await open(tableFor(h, 'noledger'), { ledger: false, columns });
      try {
        const caps = capabilitiesOf(databaseDestination, config);
        expect(caps.idempotent).toBe(false);
        expect(caps.idempotency).toBeUndefined();
        const batch = makeBatch(records);
        await instance.write(batch, { signal: signal() });
        await instance.write(batch, { signal: signal() });
        expect(await rowsOf(config)).toEqual([
          records[0],
          records[0],
          records[1],
          records[1],
          records[2],
          records[2],
        ]);
        const ledger = await h
          .query(`SELECT batch_id FROM ${h.ledger()} WHERE table_name = $1`, [config.table])
          .catch(() => []);
        expect(ledger).toEqual([]);
      } finally {
        await instance.close?.();
      }
    });
  });
}

describe('delivery ledger config and capabilities', () => {
  const base = {
    dialect: 'sqlite',
    file: ':memory:',
    table: 'events',
    columns: [{ name: 'a', type: 'text' }],
  };
  const issuePaths = (raw: unknown) => {
    try {
      parseConfig(databaseDestination.configSchema, raw);
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => i.path);
      throw err;
    }
    return [];
  };

  it('defaults: insert mode keeps a ledger named _sluice_batches for 7 days; upsert is idempotent by content', () => {
    const insert = parseConfig(databaseDestination.configSchema, base) as DatabaseConfig;
    expect(insert).toMatchObject({ ledgerTable: '_sluice_batches', ledgerRetentionDays: 7 });
    expect(capabilitiesOf(databaseDestination, insert)).toMatchObject({
      idempotent: true,
      idempotency: 'batch',
    });
    const upsert = parseConfig(databaseDestination.configSchema, {
      ...base,
      mode: 'upsert',
      key: ['a'],
    }) as DatabaseConfig;
    expect(capabilitiesOf(databaseDestination, upsert)).toMatchObject({
      idempotent: true,
      idempotency: 'content',
    });
    const dedupe = parseConfig(databaseDestination.configSchema, {
      ...base,
      mode: 'dedupe',
      key: ['a'],
    }) as DatabaseConfig;
    expect(capabilitiesOf(databaseDestination, dedupe)).toMatchObject({
      idempotent: true,
      idempotency: 'content',
    });
  });

  it('refuses a ledger outside insert mode, a bad ledger table name or retention', () => {
    expect(issuePaths({ ...base, mode: 'upsert', key: ['a'], ledger: true })).toContain('ledger');
    expect(issuePaths({ ...base, ledgerTable: 'x; drop table y' })).toContain('ledgerTable');
    expect(issuePaths({ ...base, ledgerTable: 'EVENTS' })).toContain('ledgerTable');
    expect(issuePaths({ ...base, ledgerRetentionDays: 0 })).toContain('ledgerRetentionDays');
    expect(issuePaths({ ...base, ledgerRetentionDays: 1.5 })).toContain('ledgerRetentionDays');
    expect(issuePaths({ ...base, ledger: 'yes' })).toContain('ledger');
    expect(issuePaths({ ...base, ledger: false })).toEqual([]);
  });

  it('keys a batch by its id, or by the SHA-256 of an id too long for the key column', () => {
    expect(ledgerKey('daily-warehouse-7f3a-3f9c0a21be-000001')).toBe(
      'daily-warehouse-7f3a-3f9c0a21be-000001',
    );
    const long = 'x'.repeat(300);
    expect(ledgerKey(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ledgerKey(long)).toBe(ledgerKey('x'.repeat(300)));
    expect(ledgerKey(long)).not.toBe(ledgerKey('x'.repeat(301)));
  });
});
