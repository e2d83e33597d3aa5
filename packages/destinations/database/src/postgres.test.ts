import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createPluginContext,
  parseConfig,
  type SluiceRecord,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { databaseDestination } from './destination.js';
import type { DatabaseConfig } from './config.js';
import { startTcpProxy, type TcpProxy } from '@sluice/testing/fakes';
import { nextTable } from './__fixtures__/contract.js';
import { pgSchema, pgUrl } from './__fixtures__/postgres.js';

const SCHEMA = `dest_db_pg_${process.pid}`;
let admin: pg.Client;
let proxy: TcpProxy;

beforeAll(async () => {
  admin = await pgSchema(SCHEMA);
  proxy = await startTcpProxy(5432);
});

afterAll(async () => {
  await admin?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin?.end();
  await proxy?.close();
});

const signal = () => new AbortController().signal;

async function readTable(config: DatabaseConfig): Promise<Record<string, unknown>[]> {
  const result = await admin.query(`SELECT * FROM ${config.table} ORDER BY 1`);
  return result.rows as Record<string, unknown>[];
}

describe('database destination on PostgreSQL', () => {
  async function open(raw: Record<string, unknown>) {
    const config = parseConfig(databaseDestination.configSchema, {
      dialect: 'postgres',
      url: pgUrl(),
      createTable: true,
      ...raw,
    }) as DatabaseConfig;
    const instance = await databaseDestination.create(config, createPluginContext());
    await instance.open?.();
    return { config, instance };
  }

  const allTypes = [
    { name: 'id', type: 'integer', primaryKey: true },
    { name: 'label', type: 'text', from: '$.meta.label' },
    { name: 'big', type: 'bigint' },
    { name: 'amount', type: 'numeric' },
    { name: 'ratio', type: 'double' },
    { name: 'flag', type: 'boolean' },
    { name: 'at', type: 'timestamp' },
    { name: 'day', type: 'date' },
    { name: 'payload', type: 'json', from: '$.meta' },
  ];
  const typedRecord = (id: number): SluiceRecord => ({
    id,
    meta: { label: `tab\there "q" \\ back`, nested: [1, { x: null }] },
    big: '9007199254740993',
    amount: '12345.6789',
    ratio: 0.25,
    flag: 'true',
    at: '2026-11-24T08:00:00.123+01:00',
    day: '2026-11-24',
  });

  for (const bulk of ['values', 'copy', 'unnest'] as const) {
    it(`round-trips every portable type (${bulk})`, async () => {
      const { config, instance } = await open({
        table: `${SCHEMA}.${nextTable('types')}`,
        columns: allTypes,
        bulk,
        bulkThreshold: 1,
      });
      try {
        await instance.write(makeBatch([typedRecord(1), { id: 2 }]), { signal: signal() });
        const rows = await readTable(config);
        expect(rows).toHaveLength(2);
        expect(rows[0]).toMatchObject({
          id: 1,
          label: 'tab\there "q" \\ back',
          big: '9007199254740993',
          amount: '12345.6789',
          ratio: 0.25,
          flag: true,
          payload: { label: 'tab\there "q" \\ back', nested: [1, { x: null }] },
        });
        expect((rows[0]!.at as Date).toISOString()).toBe('2026-11-24T07:00:00.123Z');
        expect(rows[1]).toMatchObject({ id: 2, label: null, big: null, payload: null });
      } finally {
        await instance.close?.();
      }
    });
  }

  for (const bulk of ['values', 'copy', 'unnest'] as const) {
    it(`upserts on the key, the last record of a key winning (${bulk})`, async () => {
      const { config, instance } = await open({
        table: `${SCHEMA}.${nextTable('upsert')}`,
        mode: 'upsert',
        key: ['day', 'channel'],
        columns: [
          { name: 'day', type: 'date', primaryKey: true },
          { name: 'channel', type: 'text', primaryKey: true },
          { name: 'sessions', type: 'bigint' },
        ],
        bulk,
        bulkThreshold: 2,
      });
      try {
        await instance.write(
          makeBatch([
            { day: '2026-11-24', channel: 'email', sessions: 1 },
            { day: '2026-11-24', channel: 'web', sessions: 2 },
          ]),
          { signal: signal() },
        );
        await instance.write(
          makeBatch([
            { day: '2026-11-24', channel: 'email', sessions: 10 },
            { day: '2026-11-24', channel: 'email', sessions: 11 },
            { day: '2026-11-25', channel: 'web', sessions: 3 },
          ]),
          { signal: signal() },
        );
        const rows = (await readTable(config)).map((r) => [
          String((r.day as Date).getDate()),
          r.channel,
          r.sessions,
        ]);
        expect(rows.map((r) => `${r[1]}=${r[2]}`).sort()).toEqual(['email=11', 'web=2', 'web=3']);
      } finally {
        await instance.close?.();
      }
    });
  }

  for (const bulk of ['values', 'copy'] as const) {
    it(`dedupe mode keeps the first row of a key and ignores later ones (${bulk})`, async () => {
      const { config, instance } = await open({
        table: `${SCHEMA}.${nextTable('dedupe')}`,
        mode: 'dedupe',
        key: ['event_id'],
        columns: [
          { name: 'event_id', type: 'text' },
          { name: 'v', type: 'integer' },
        ],
        bulk,
        bulkThreshold: 1,
      });
      try {
        await instance.write(
          makeBatch([
            { event_id: 'a', v: 1 },
            { event_id: 'a', v: 2 },
          ]),
          { signal: signal() },
        );
        await instance.write(
          makeBatch([
            { event_id: 'a', v: 3 },
            { event_id: 'b', v: 4 },
          ]),
          { signal: signal() },
        );
        const rows = await readTable(config);
        expect(rows.map((r) => `${r.event_id}=${r.v}`).sort()).toEqual(['a=1', 'b=4']);
      } finally {
        await instance.close?.();
      }
    });
  }

  it('names the column and field of a record that does not fit', async () => {
    const { instance } = await open({
      table: `${SCHEMA}.${nextTable('bad')}`,
      columns: [
        { name: 'n', type: 'integer', nullable: false },
        { name: 'd', type: 'date', from: '$.when.day' },
      ],
    });
    try {
      const err = await instance
        .write(makeBatch([{ n: 1 }, { n: 'x' }, { n: 2, when: { day: '2026-02-30' } }, {}]), {
          signal: signal(),
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartialBatchError);
      const failures = (err as PartialBatchError).failures;
      expect(failures.map((f) => f.index)).toEqual([1, 2, 3]);
      expect(failures[0]!.error).toBeInstanceOf(FatalError);
      expect(failures[0]!.error.message).toMatch(
        /column "n" \(integer\) from field "n": expected a 32-bit integer/,
      );
      expect(failures[1]!.error.message).toMatch(/column "d" \(date\) from field "\$\.when\.day"/);
      expect(failures[2]!.error.message).toMatch(
        /column "n" is not nullable and field "n" is missing/,
      );
    } finally {
      await instance.close?.();
    }
  });

  for (const bulk of ['values', 'copy'] as const) {
    it(`isolates rows the database rejects inside savepoints and writes the rest (${bulk})`, async () => {
      const table = `${SCHEMA}.${nextTable('reject')}`;
      await admin.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, v integer CHECK (v >= 0))`);
      await admin.query(`INSERT INTO ${table} VALUES (1, 1)`);
      const { config, instance } = await open({
        table,
        createTable: false,
        columns: [
          { name: 'id', type: 'integer' },
          { name: 'v', type: 'integer' },
        ],
        bulk,
        bulkThreshold: 1,
      });
      try {
        const err = await instance
          .write(
            makeBatch([
              { id: 2, v: 2 },
              { id: 1, v: 5 },
              { id: 3, v: -1 },
              { id: 4, v: 4 },
            ]),
            { signal: signal() },
          )
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PartialBatchError);
        expect((err as PartialBatchError).failed).toEqual([1, 2]);
        expect((err as PartialBatchError).failures[0]!.error.message).toMatch(/duplicate key/);
        expect((err as PartialBatchError).failures[1]!.error.message).toMatch(/check constraint/);
        expect((await readTable(config)).map((r) => r.id)).toEqual([1, 2, 4]);
      } finally {
        await instance.close?.();
      }
    });
  }

  it('fails fatally when the table does not exist, and check() says why', async () => {
    const { instance } = await open({
      table: `${SCHEMA}.does_not_exist`,
      createTable: false,
      columns: [{ name: 'id', type: 'integer' }],
    });
    try {
      const result = await instance.check!();
      expect(result.ok).toBe(false);
      expect(result.message).toMatch(/does not exist/);
      const err = await instance
        .write(makeBatch([{ id: 1 }]), { signal: signal() })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FatalError);
      expect((err as FatalError).message).toMatch(/does_not_exist/);
    } finally {
      await instance.close?.();
    }
  });

  it('reports a database that is down as retryable and recovers when it is back', async () => {
    const { config, instance } = await open({
      url: pgUrl(proxy.port),
      table: `${SCHEMA}.${nextTable('down')}`,
      columns: [{ name: 'id', type: 'integer' }],
      connectTimeoutMs: 2000,
    });
    try {
      proxy.down();
      const err = await instance
        .write(makeBatch([{ id: 1 }]), { signal: signal() })
        .catch((e: unknown) => e);
      proxy.up();
      expect(err).toBeInstanceOf(RetryableError);
      await instance.write(makeBatch([{ id: 2 }]), { signal: signal() });
      expect((await readTable(config)).map((r) => r.id)).toEqual([2]);
      expect((await instance.check!()).ok).toBe(true);
    } finally {
      proxy.up();
      await instance.close?.();
    }
  });

  it('writes a large batch with COPY in one transaction', async () => {
    const { config, instance } = await open({
      table: `${SCHEMA}.${nextTable('large')}`,
      mode: 'upsert',
      key: ['id'],
      columns: [
        { name: 'id', type: 'integer', primaryKey: true },
        { name: 's', type: 'text' },
      ],
      maxBatch: 20000,
    });
    try {
      const records = Array.from({ length: 20000 }, (_, i) => ({ id: i, s: `row ${i}\n` }));
      await instance.write(makeBatch(records), { signal: signal() });
      const count = await admin.query(
        `SELECT count(*)::int AS n, max(s) AS m FROM ${config.table}`,
      );
      expect(count.rows[0]).toEqual({ n: 20000, m: 'row 9999\n' });
    } finally {
      await instance.close?.();
    }
  });
});

describe('database destination (postgres, COPY upsert through a staging table)', () => {
  it('keeps the last row of a key, writes NULLs and JSON, and dead-letters a value of the wrong type', async () => {
    const config = parseConfig(databaseDestination.configSchema, {
      dialect: 'postgres',
      url: pgUrl(),
      table: `${SCHEMA}.${nextTable('stage')}`,
      createTable: true,
      mode: 'upsert',
      key: ['id'],
      bulk: 'copy',
      bulkThreshold: 1,
      columns: [
        { name: 'id', type: 'bigint', primaryKey: true },
        { name: 'note', type: 'text' },
        { name: 'doc', type: 'json' },
        { name: 'n', type: 'integer' },
      ],
    });
    const instance = await databaseDestination.create(config, createPluginContext());
    await instance.open?.();
    try {
      await instance.write(
        makeBatch([
          { id: 1, note: 'first\ttab', doc: { a: 1 }, n: 1 },
          { id: 2, note: null, doc: null, n: null },
          { id: 1, note: 'last\nline', doc: { a: [2, 'x\\y'] }, n: 3 },
        ]),
        { signal: signal() },
      );
      const rows = (await readTable(config)).map((r) => [r.id, r.note, r.doc, r.n]);
      expect(rows).toEqual([
        ['1', 'last\nline', { a: [2, 'x\\y'] }, 3],
        ['2', null, null, null],
      ]);
      const error = await instance
        .write(
          makeBatch([
            { id: 3, note: 'ok', doc: {}, n: 4 },
            { id: 4, note: 'bad', doc: {}, n: 'many' },
          ]),
          { signal: signal() },
        )
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(PartialBatchError);
      const failures = (error as PartialBatchError).failures;
      expect(failures.map((f) => f.index)).toEqual([1]);
      expect(failures[0]!.error.message).toContain('column "n" (integer)');
      expect((await readTable(config)).map((r) => r.id)).toEqual(['1', '2', '3']);
    } finally {
      await instance.close?.();
    }
  });
});

describe('database destination (postgres, upsert and dedupe by direct COPY, staged on conflict)', () => {
  async function open(mode: 'upsert' | 'dedupe') {
    const config = parseConfig(databaseDestination.configSchema, {
      dialect: 'postgres',
      url: pgUrl(),
      table: `${SCHEMA}.${nextTable(`direct_${mode}`)}`,
      createTable: true,
      mode,
      key: ['id'],
      bulk: 'copy',
      bulkThreshold: 1,
      columns: [
        { name: 'id', type: 'bigint', primaryKey: true },
        { name: 'v', type: 'text' },
      ],
    });
    const instance = await databaseDestination.create(config, createPluginContext());
    await instance.open?.();
    return { config, instance };
  }
  const rows = (ids: number[], v: string) => ids.map((id) => ({ id, v: `${v}${id}` }));

  it('upsert: new keys, then batches mixing new and existing keys, then new keys again', async () => {
    const { config, instance } = await open('upsert');
    try {
      // 1: all new (direct COPY); 2 and 3: each holds an existing key (the COPY fails on it and
      // the batch is staged; the next batch stages without trying); 4, 5: all new again.
      const batches = [
        rows([1, 2, 3], 'a'),
        rows([3, 4], 'b'),
        rows([1, 5], 'c'),
        rows([6, 7], 'd'),
        rows([8], 'e'),
        rows([8, 9], 'f'),
      ];
      for (const batch of batches) await instance.write(makeBatch(batch), { signal: signal() });
      const table = (await readTable(config)).map((r) => [r.id, r.v]);
      expect(table).toEqual([
        ['1', 'c1'],
        ['2', 'a2'],
        ['3', 'b3'],
        ['4', 'b4'],
        ['5', 'c5'],
        ['6', 'd6'],
        ['7', 'd7'],
        ['8', 'f8'],
        ['9', 'f9'],
      ]);
    } finally {
      await instance.close?.();
    }
  });

  it('dedupe: an existing key keeps its first row, new keys are written', async () => {
    const { config, instance } = await open('dedupe');
    try {
      for (const batch of [rows([1, 2], 'a'), rows([2, 3], 'b'), rows([4], 'c'), rows([1, 5], 'd')])
        await instance.write(makeBatch(batch), { signal: signal() });
      expect((await readTable(config)).map((r) => [r.id, r.v])).toEqual([
        ['1', 'a1'],
        ['2', 'a2'],
        ['3', 'b3'],
        ['4', 'c4'],
        ['5', 'd5'],
      ]);
    } finally {
      await instance.close?.();
    }
  });
});

describe('database destination (postgres, COPY while the batch is mapped)', () => {
  // Large batches are mapped while COPY sends them; whatever the mapping finds part-way (a
  // record that needs a new column or a wider type, a repeated key, a dead letter) must end as
  // if the whole batch had been mapped first.
  async function open(raw: Record<string, unknown>) {
    const config = parseConfig(databaseDestination.configSchema, {
      dialect: 'postgres',
      url: pgUrl(),
      table: `${SCHEMA}.${nextTable('while_mapping')}`,
      createTable: true,
      bulk: 'copy',
      bulkThreshold: 1,
      columns: [
        { name: 'id', type: 'bigint', primaryKey: true },
        { name: 'n', type: 'integer' },
      ],
      ...raw,
    }) as DatabaseConfig;
    const instance = await databaseDestination.create(config, createPluginContext());
    await instance.open?.();
    return { config, instance };
  }
  const records = (count: number) => Array.from({ length: count }, (_, id) => ({ id, n: id }));

  it('adds a column and widens another for records deep in the batch (evolve), writing every row once', async () => {
    const { config, instance } = await open({
      schema: { newColumn: 'evolve', typeChange: 'evolve' },
    });
    try {
      const batch = records(3000) as SluiceRecord[];
      batch[1700] = { id: 1700, n: 1700, channel: 'email' };
      batch[2900] = { id: 2900, n: 5_000_000_000 };
      await instance.write(makeBatch(batch), { signal: signal() });
      const summary = await admin.query(
        `SELECT count(*)::int AS rows, count(channel)::int AS channels, max(n)::text AS top FROM ${config.table}`,
      );
      expect(summary.rows[0]).toEqual({ rows: 3000, channels: 1, top: '5000000000' });
    } finally {
      await instance.close?.();
    }
  });

  it('dead-letters a record deep in the batch (freeze) and writes the others, ledgering the rows written', async () => {
    const { config, instance } = await open({ schema: { newColumn: 'freeze' } });
    try {
      const batch = records(2000) as SluiceRecord[];
      batch[1500] = { id: 1500, n: 1500, channel: 'email' };
      const error = await instance
        .write(makeBatch(batch, { id: 'deep-freeze' }), { signal: signal() })
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(PartialBatchError);
      const failures = (error as PartialBatchError).failures;
      expect(failures.map((f) => f.index)).toEqual([1500]);
      expect(failures[0]!.error.message).toContain('has no column "channel"');
      const count = await admin.query(`SELECT count(*)::int AS n FROM ${config.table}`);
      expect(count.rows[0]).toEqual({ n: 1999 });
      const ledger = await admin.query(
        `SELECT row_count FROM ${SCHEMA}._sluice_batches WHERE batch_id = 'deep-freeze'`,
      );
      expect(ledger.rows).toEqual([{ row_count: 1999 }]);
      // The same batch again: nothing written, the same record reported.
      const again = await instance
        .write(makeBatch(batch, { id: 'deep-freeze' }), { signal: signal() })
        .catch((err: unknown) => err);
      expect((again as PartialBatchError).failures.map((f) => f.index)).toEqual([1500]);
      const after = await admin.query(`SELECT count(*)::int AS n FROM ${config.table}`);
      expect(after.rows[0]).toEqual({ n: 1999 });
    } finally {
      await instance.close?.();
    }
  });

  it('upsert: a key repeated late in the batch keeps its last row', async () => {
    const { config, instance } = await open({ mode: 'upsert', key: ['id'] });
    try {
      const batch = [...records(2500), { id: 7, n: -7 }];
      await instance.write(makeBatch(batch), { signal: signal() });
      const rows = await admin.query(
        `SELECT count(*)::int AS rows, (SELECT n FROM ${config.table} WHERE id = 7) AS seven FROM ${config.table}`,
      );
      expect(rows.rows[0]).toEqual({ rows: 2500, seven: -7 });
    } finally {
      await instance.close?.();
    }
  });

  it('isolates a row the database refuses part-way through the COPY', async () => {
    const { config, instance } = await open({});
    try {
      await admin.query(`ALTER TABLE ${config.table} ADD CHECK (n <> 1234)`);
      const error = await instance
        .write(makeBatch(records(2000)), { signal: signal() })
        .catch((err: unknown) => err);
      expect((error as PartialBatchError).failures.map((f) => f.index)).toEqual([1234]);
      const count = await admin.query(`SELECT count(*)::int AS n FROM ${config.table}`);
      expect(count.rows[0]).toEqual({ n: 1999 });
    } finally {
      await instance.close?.();
    }
  });
});
