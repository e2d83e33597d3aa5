import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
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
import { nextTable } from './__fixtures__/contract.js';

let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-dest-db-sqlite-'));
  file = join(dir, 'test.db');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const signal = () => new AbortController().signal;

function readTable(config: DatabaseConfig): Record<string, unknown>[] {
  const db = new DatabaseSync(file);
  try {
    return db.prepare(`SELECT * FROM "${config.table}" ORDER BY 1`).all() as Record<
      string,
      unknown
    >[];
  } finally {
    db.close();
  }
}

describe('database destination on SQLite (node:sqlite)', () => {
  async function open(raw: Record<string, unknown>) {
    const config = parseConfig(databaseDestination.configSchema, {
      dialect: 'sqlite',
      file,
      createTable: true,
      ...raw,
    }) as DatabaseConfig;
    const instance = await databaseDestination.create(config, createPluginContext());
    await instance.open?.();
    return { config, instance };
  }

  it('round-trips every portable type, keeping decimals and instants exact', async () => {
    const { config, instance } = await open({
      table: nextTable('types'),
      columns: [
        { name: 'id', type: 'integer', primaryKey: true },
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
            big: '9223372036854775807',
            amount: '0.10',
            ratio: 1.5,
            flag: true,
            at: '2026-11-24 08:00',
            day: '2026-11-24',
            meta: { a: [1] },
          },
        ]),
        { signal: signal() },
      );
      const db = new DatabaseSync(file);
      const stmt = db.prepare(`SELECT * FROM "${config.table}"`);
      stmt.setReadBigInts(true);
      const [row] = stmt.all();
      db.close();
      expect(row).toMatchObject({
        id: 1n,
        big: 9223372036854775807n,
        amount: '0.10',
        ratio: 1.5,
        flag: 1n,
        at: '2026-11-24T08:00:00.000Z',
        day: '2026-11-24',
        payload: '{"a":[1]}',
      });
    } finally {
      await instance.close?.();
    }
  });

  it('upserts and dedupes with ON CONFLICT', async () => {
    const columns = [
      { name: 'k', type: 'text', primaryKey: true },
      { name: 'v', type: 'integer' },
    ];
    const up = await open({ table: nextTable('up'), mode: 'upsert', key: ['k'], columns });
    const dd = await open({ table: nextTable('dd'), mode: 'dedupe', key: ['k'], columns });
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
      expect(readTable(up.config).map((r) => `${r.k}=${r.v}`)).toEqual(['a=4', 'b=2']);
      expect(readTable(dd.config).map((r) => `${r.k}=${r.v}`)).toEqual(['a=1', 'b=2']);
    } finally {
      await up.instance.close?.();
      await dd.instance.close?.();
    }
  });

  it('isolates constraint violations inside savepoints', async () => {
    const table = nextTable('reject');
    const db = new DatabaseSync(file);
    db.exec(`CREATE TABLE "${table}" (id INTEGER PRIMARY KEY, v INTEGER CHECK (v >= 0))`);
    db.close();
    const { config, instance } = await open({
      table,
      createTable: false,
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'v', type: 'integer' },
      ],
    });
    try {
      const err = await instance
        .write(
          makeBatch([
            { id: 1, v: 1 },
            { id: 2, v: -5 },
            { id: 1, v: 2 },
            { id: 3, v: 3 },
          ]),
          { signal: signal() },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartialBatchError);
      expect((err as PartialBatchError).failed).toEqual([1, 2]);
      expect(readTable(config).map((r) => r.id)).toEqual([1, 3]);
    } finally {
      await instance.close?.();
    }
  });

  it('is fatal for an unknown table and retryable while another writer holds the lock', async () => {
    const missing = await open({
      table: 'missing_table',
      createTable: false,
      columns: [{ name: 'id', type: 'integer' }],
    });
    const locked = await open({
      table: nextTable('locked'),
      columns: [{ name: 'id', type: 'integer' }],
      busyTimeoutMs: 20,
    });
    try {
      expect(
        await missing.instance
          .write(makeBatch([{ id: 1 }]), { signal: signal() })
          .catch((e: unknown) => e),
      ).toBeInstanceOf(FatalError);
      const other = new DatabaseSync(file);
      other.exec('BEGIN EXCLUSIVE');
      const err = await locked.instance
        .write(makeBatch([{ id: 1 }]), { signal: signal() })
        .catch((e: unknown) => e);
      other.exec('ROLLBACK');
      other.close();
      expect(err).toBeInstanceOf(RetryableError);
      await locked.instance.write(makeBatch([{ id: 1 }]), { signal: signal() });
      expect(readTable(locked.config)).toHaveLength(1);
    } finally {
      await missing.instance.close?.();
      await locked.instance.close?.();
    }
  });

  it('serialises concurrent writes on its single connection', async () => {
    const { config, instance } = await open({
      table: nextTable('concurrent'),
      columns: [{ name: 'id', type: 'integer' }],
    });
    try {
      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          instance.write(makeBatch([{ id: i }, { id: i + 100 }]), { signal: signal() }),
        ),
      );
      expect(readTable(config)).toHaveLength(10);
    } finally {
      await instance.close?.();
    }
  });
});
