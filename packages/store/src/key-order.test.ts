// Records keep their key order through the store (migration 0007: json, not jsonb, for run
// params and dead letters): jsonb would hand back { id, zeta, b_long_key } as { b, id, zeta }
// sorted by key length, and CSV columns (first-seen order) with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  openTestPGlite,
  uniqueSchema,
  withClient,
  type TestDatabase,
  type TestPGlite,
} from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';

let database: TestDatabase | undefined;
let shared: TestPGlite | undefined;

const backends = [
  {
    name: 'PostgreSQL',
    open: async () => {
      database ??= await createTestDatabase('sluice_store_test_key_order');
      return createStore({ url: database.url, schema: uniqueSchema('order'), maxConnections: 2 });
    },
    dispose: async () => database?.drop(),
  },
  {
    name: 'PGlite',
    open: async () => {
      shared ??= await openTestPGlite();
      return createStore({ pglite: shared.pglite, schema: uniqueSchema('order') });
    },
    dispose: async () => shared?.dispose(),
  },
];

// Keys jsonb would reorder (longer keys after shorter ones), and nested objects too.
const record = {
  zeta: 1,
  id: 'x',
  a_rather_long_key: { yy: 1, b: 2 },
  m: null,
  'k.with[dots]': '',
};

describe.each(backends)('key order on $name', (backend) => {
  let store: Store;
  beforeAll(async () => {
    store = await backend.open();
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await backend.dispose();
  });

  it('run params (records posted through a webhook trigger) come back in the order written', async () => {
    const run = await store.runs.create({
      pipeline: 'hooks',
      trigger: 'webhook',
      params: { records: [record], zz: 1, a: 2 },
    });
    const read = await store.runs.get(run.id);
    expect(JSON.stringify(read!.params)).toBe(JSON.stringify({ records: [record], zz: 1, a: 2 }));
    expect(Object.keys((read!.params.records as Record<string, unknown>[])[0]!)).toEqual(
      Object.keys(record),
    );
  });

  it('dead letters keep record and original in the order written', async () => {
    await store.deadLetters.write([
      {
        pipeline: 'hooks',
        runId: 'run-order',
        route: 'all',
        destination: 'files',
        record,
        original: { zeta: 2, b: 1 },
        error: { name: 'FatalError', message: 'no' },
        attempts: 1,
        failedAt: '2026-12-01T00:00:00.000Z',
      },
    ]);
    const page = await store.deadLetters.list({ pipeline: 'hooks' });
    expect(Object.keys(page.items[0]!.record)).toEqual(Object.keys(record));
    expect(Object.keys(page.items[0]!.original!)).toEqual(['zeta', 'b']);
  });
});

describe('migration 0007 on PostgreSQL', () => {
  it('makes the record-carrying columns json', async () => {
    const db = await createTestDatabase('sluice_store_test_key_order_types');
    try {
      const schema = uniqueSchema('types');
      const store = await createStore({ url: db.url, schema, maxConnections: 1 });
      await store.migrate();
      await store.close();
      const types = await withClient(
        db.url,
        async (c) =>
          (
            await c.query(
              `SELECT table_name || '.' || column_name AS col, data_type FROM information_schema.columns WHERE table_schema = $1 AND ((table_name = 'runs' AND column_name = 'params') OR (table_name = 'dead_letters' AND column_name IN ('record', 'original'))) ORDER BY 1`,
              [schema],
            )
          ).rows,
      );
      expect(types).toEqual([
        { col: 'dead_letters.original', data_type: 'json' },
        { col: 'dead_letters.record', data_type: 'json' },
        { col: 'runs.params', data_type: 'json' },
      ]);
    } finally {
      await db.drop();
    }
  });
});
