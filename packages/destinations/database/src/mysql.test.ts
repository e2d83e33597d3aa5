import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createPluginContext,
  parseConfig,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { databaseDestination } from './destination.js';
import type { DatabaseConfig } from './config.js';
import { startTcpProxy, type TcpProxy } from '@sluice/testing/fakes';
import { nextTable } from './__fixtures__/contract.js';
import { dropMysqlTables, mysqlAdmin, mysqlUrl as url } from './__fixtures__/mysql.js';

const PREFIX = `my_${process.pid}`;
let admin: mysql.Connection;
let proxy: TcpProxy;

beforeAll(async () => {
  admin = await mysqlAdmin();
  proxy = await startTcpProxy(3306);
});

afterAll(async () => {
  if (admin) await dropMysqlTables(admin, PREFIX);
  await proxy?.close();
});

const signal = () => new AbortController().signal;

async function readTable(config: DatabaseConfig): Promise<Record<string, unknown>[]> {
  const [rows] = await admin.query(`SELECT * FROM \`${config.table}\` ORDER BY 1`);
  return rows as Record<string, unknown>[];
}

describe('database destination on MariaDB', () => {
  async function open(raw: Record<string, unknown>) {
    const config = parseConfig(databaseDestination.configSchema, {
      dialect: 'mysql',
      url: url(),
      createTable: true,
      ...raw,
    }) as DatabaseConfig;
    const instance = await databaseDestination.create(config, createPluginContext());
    await instance.open?.();
    return { config, instance };
  }

  it('round-trips every portable type', async () => {
    const { config, instance } = await open({
      table: nextTable(PREFIX),
      columns: [
        { name: 'id', type: 'integer', primaryKey: true },
        { name: 'label', type: 'text', from: '$.meta.label' },
        { name: 'big', type: 'bigint' },
        { name: 'amount', type: 'numeric' },
        { name: 'ratio', type: 'double' },
        { name: 'flag', type: 'boolean' },
        { name: 'at', type: 'timestamp' },
        { name: 'day', type: 'date' },
        { name: 'payload', type: 'json', from: '$.meta' },
      ],
    });
    try {
      await instance.write(
        makeBatch([
          {
            id: 1,
            meta: { label: "it's `quoted`" },
            big: '9007199254740993',
            amount: 12.5,
            ratio: '0.25',
            flag: false,
            at: 1795939200123,
            day: '2026-11-24',
          },
          { id: 2 },
        ]),
        { signal: signal() },
      );
      const rows = await readTable(config);
      expect(rows[0]).toMatchObject({
        id: 1,
        label: "it's `quoted`",
        big: '9007199254740993',
        amount: '12.5000000000',
        ratio: 0.25,
        flag: 0,
        at: new Date(1795939200123).toISOString().replace('T', ' ').replace('Z', ''),
        day: '2026-11-24',
      });
      const payload = rows[0]!.payload;
      expect(typeof payload === 'string' ? JSON.parse(payload) : payload).toEqual({
        label: "it's `quoted`",
      });
      expect(rows[1]).toMatchObject({ id: 2, label: null, payload: null });
    } finally {
      await instance.close?.();
    }
  });

  it('upserts with ON DUPLICATE KEY and dedupes without swallowing data errors', async () => {
    const columns = [
      { name: 'k', type: 'text' },
      { name: 'v', type: 'integer' },
    ];
    const up = await open({ table: nextTable(PREFIX), mode: 'upsert', key: ['k'], columns });
    const dd = await open({ table: nextTable(PREFIX), mode: 'dedupe', key: ['k'], columns });
    try {
      for (const { instance } of [up, dd]) {
        await instance.write(
          makeBatch([
            { k: 'a', v: 1 },
            { k: 'b', v: 2 },
          ]),
          { signal: signal() },
        );
        await instance.write(
          makeBatch([
            { k: 'a', v: 3 },
            { k: 'a', v: 4 },
          ]),
          { signal: signal() },
        );
      }
      expect((await readTable(up.config)).map((r) => `${r.k}=${r.v}`)).toEqual(['a=4', 'b=2']);
      expect((await readTable(dd.config)).map((r) => `${r.k}=${r.v}`)).toEqual(['a=1', 'b=2']);
    } finally {
      await up.instance.close?.();
      await dd.instance.close?.();
    }
  });

  it('isolates rows the database rejects inside savepoints', async () => {
    const table = nextTable(PREFIX);
    await admin.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, s VARCHAR(3))`);
    await admin.query(`INSERT INTO \`${table}\` VALUES (1, 'x')`);
    const { config, instance } = await open({
      table,
      createTable: false,
      columns: [
        { name: 'id', type: 'integer' },
        { name: 's', type: 'text' },
      ],
    });
    try {
      const err = await instance
        .write(
          makeBatch([
            { id: 2, s: 'ok' },
            { id: 1, s: 'dup' },
            { id: 3, s: 'too long' },
            { id: 4, s: 'ok' },
          ]),
          { signal: signal() },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartialBatchError);
      expect((err as PartialBatchError).failed).toEqual([1, 2]);
      expect((err as PartialBatchError).failures[0]!.error.message).toMatch(/Duplicate entry/);
      expect((await readTable(config)).map((r) => r.id)).toEqual([1, 2, 4]);
    } finally {
      await instance.close?.();
    }
  });

  it('is fatal for an unknown table and retryable while the server is unreachable', async () => {
    const missing = await open({
      table: `${PREFIX}_missing`,
      createTable: false,
      columns: [{ name: 'id', type: 'integer' }],
    });
    const down = await open({
      url: url(proxy.port),
      table: nextTable(PREFIX),
      columns: [{ name: 'id', type: 'integer' }],
      connectTimeoutMs: 2000,
    });
    try {
      expect(
        await missing.instance
          .write(makeBatch([{ id: 1 }]), { signal: signal() })
          .catch((e: unknown) => e),
      ).toBeInstanceOf(FatalError);
      expect((await missing.instance.check!()).ok).toBe(false);
      proxy.down();
      const err = await down.instance
        .write(makeBatch([{ id: 1 }]), { signal: signal() })
        .catch((e: unknown) => e);
      proxy.up();
      expect(err).toBeInstanceOf(RetryableError);
      await down.instance.write(makeBatch([{ id: 2 }]), { signal: signal() });
      expect((await readTable(down.config)).map((r) => r.id)).toEqual([2]);
    } finally {
      proxy.up();
      await missing.instance.close?.();
      await down.instance.close?.();
    }
  });
});
