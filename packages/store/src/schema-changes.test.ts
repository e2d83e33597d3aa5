import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import {
  createTestDatabase,
  openTestPGlite,
  uniqueSchema,
  type TestDatabase,
  type TestPGlite,
} from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';

interface Backend {
  name: string;
  open(schema: string): Promise<Store>;
  dispose(): Promise<void>;
}

let database: TestDatabase | undefined;
let shared: TestPGlite | undefined;

const backends: Backend[] = [
  {
    name: 'PostgreSQL',
    async open(schema) {
      database ??= await createTestDatabase('sluice_store_test_schema_changes');
      return createStore({ url: database.url, schema });
    },
    async dispose() {
      await database?.drop();
    },
  },
  {
    name: 'PGlite',
    async open(schema) {
      shared ??= await openTestPGlite();
      return createStore({ pglite: shared.pglite, schema });
    },
    async dispose() {
      await shared?.dispose();
    },
  },
];

describe.each(backends)('schema-change log on $name', (backend) => {
  let store: Store;

  beforeAll(async () => {
    store = await backend.open(uniqueSchema('schema_changes'));
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await backend.dispose();
  });

  it('records changes and lists them newest first, by destination and table, in pages', async () => {
    const first = await store.schemaChanges.record({
      destination: 'warehouse',
      kind: 'database',
      change: 'create_table',
      table: 'analytics.sessions',
      statement: 'create table "analytics"."sessions" ("id" bigint)',
      changedAt: '2026-11-24T08:00:00.000Z',
    });
    expect(first).toEqual({
      seq: expect.any(Number),
      destination: 'warehouse',
      kind: 'database',
      table: 'analytics.sessions',
      change: 'create_table',
      column: null,
      from: null,
      to: null,
      statement: 'create table "analytics"."sessions" ("id" bigint)',
      changedAt: '2026-11-24T08:00:00.000Z',
    });
    await store.schemaChanges.record({
      destination: 'warehouse',
      kind: 'database',
      change: 'add_column',
      table: 'analytics.sessions',
      column: 'utm',
      to: 'text',
    });
    await store.schemaChanges.record({
      destination: 'warehouse',
      kind: 'database',
      change: 'widen_column',
      table: 'analytics.sessions',
      column: 'n',
      from: 'integer',
      to: 'bigint',
    });
    await store.schemaChanges.record({
      destination: 'other',
      kind: 'database',
      change: 'add_column',
      table: 'events',
      column: 'x',
      to: 'json',
    });

    const all = await store.schemaChanges.list();
    expect(all.items.map((c) => `${c.destination}:${c.change}`)).toEqual([
      'other:add_column',
      'warehouse:widen_column',
      'warehouse:add_column',
      'warehouse:create_table',
    ]);
    expect(all.items[1]).toMatchObject({ column: 'n', from: 'integer', to: 'bigint' });
    expect(all.nextCursor).toBeNull();

    const page1 = await store.schemaChanges.list({ destination: 'warehouse', limit: 2 });
    expect(page1.items.map((c) => c.change)).toEqual(['widen_column', 'add_column']);
    const page2 = await store.schemaChanges.list({
      destination: 'warehouse',
      limit: 2,
      cursor: page1.nextCursor,
    });
    expect(page2.items.map((c) => c.change)).toEqual(['create_table']);
    expect(page2.nextCursor).toBeNull();
    expect((await store.schemaChanges.list({ table: 'events' })).items).toHaveLength(1);
  });

  it('refuses a change without a destination or of an unknown kind, naming the field', async () => {
    await expect(
      store.schemaChanges.record({
        destination: '',
        kind: 'database',
        change: 'add_column',
        table: 't',
      }),
    ).rejects.toThrow(ConfigError);
    const error = await store.schemaChanges
      .record({
        destination: 'd',
        kind: 'database',
        change: 'drop_table' as 'add_column',
        table: 't',
      })
      .catch((e: unknown) => e);
    expect((error as ConfigError).issues[0]).toMatchObject({ path: 'change' });
    await expect(store.schemaChanges.list({ cursor: 'nope' })).rejects.toThrow(ConfigError);
  });
});
