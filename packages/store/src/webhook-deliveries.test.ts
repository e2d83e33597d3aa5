import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  openTestPGlite,
  uniqueSchema,
  type TestDatabase,
  type TestPGlite,
} from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';
import { bundledMigrations } from './migrations.js';

interface Backend {
  name: string;
  /** Two stores on one schema: two server instances sharing one database. */
  open(schema: string, migrations?: ReturnType<typeof bundledMigrations>): Promise<Store>;
  dispose(): Promise<void>;
}

let database: TestDatabase | undefined;
let shared: TestPGlite | undefined;

const backends: Backend[] = [
  {
    name: 'PostgreSQL',
    async open(schema, migrations) {
      database ??= await createTestDatabase('sluice_store_test_webhook_deliveries');
      return createStore({
        url: database.url,
        schema,
        maxConnections: 8,
        ...(migrations ? { migrations } : {}),
      });
    },
    async dispose() {
      await database?.drop();
    },
  },
  {
    name: 'PGlite',
    async open(schema, migrations) {
      shared ??= await openTestPGlite();
      return createStore({ pglite: shared.pglite, schema, ...(migrations ? { migrations } : {}) });
    },
    async dispose() {
      await shared?.dispose();
    },
  },
];

describe.each(backends)('webhook deliveries on $name', (backend) => {
  const stores: Store[] = [];
  let store: Store;
  let other: Store;
  const open = async (schema: string, migrations?: ReturnType<typeof bundledMigrations>) => {
    const opened = await backend.open(schema, migrations);
    stores.push(opened);
    return opened;
  };

  beforeAll(async () => {
    const schema = uniqueSchema('hooks');
    store = await open(schema);
    await store.migrate();
    other = await open(schema);
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await backend.dispose();
  });

  it('accept a delivery id once per pipeline and answer every later copy with the first run id', async () => {
    expect(
      await store.webhookDeliveries.recordDelivery(
        'daily',
        'msg_1',
        '2026-11-24T08:00:00Z',
        'run-a',
      ),
    ).toEqual({ fresh: true, runId: 'run-a' });
    expect(
      await other.webhookDeliveries.recordDelivery(
        'daily',
        'msg_1',
        '2026-11-24T08:00:01Z',
        'run-b',
      ),
    ).toEqual({ fresh: false, runId: 'run-a' });
    expect(
      await store.webhookDeliveries.recordDelivery(
        'other',
        'msg_1',
        '2026-11-24T08:00:00Z',
        'run-c',
      ),
    ).toEqual({ fresh: true, runId: 'run-c' });
  });

  it('let exactly one of twenty concurrent copies on two instances win, and all twenty agree on its run', async () => {
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? store : other).webhookDeliveries.recordDelivery(
          'daily',
          'msg_race',
          '2026-11-24T08:00:00Z',
          `run-${i}`,
        ),
      ),
    );
    const winners = claims.filter((c) => c.fresh);
    expect(winners).toHaveLength(1);
    expect(new Set(claims.map((c) => c.runId))).toEqual(new Set([winners[0]!.runId]));
  });

  it('prune old deliveries, after which an id is new again', async () => {
    await store.webhookDeliveries.recordDelivery(
      'prune',
      'msg_old',
      '2026-11-24T08:00:00Z',
      'run-old',
    );
    await store.webhookDeliveries.recordDelivery(
      'prune',
      'msg_new',
      '2026-11-24T09:00:00Z',
      'run-new',
    );
    expect(
      await store.webhookDeliveries.pruneDeliveries('2026-11-24T08:30:00Z'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await store.webhookDeliveries.recordDelivery(
        'prune',
        'msg_old',
        '2026-11-24T10:00:00Z',
        'run-again',
      ),
    ).toEqual({ fresh: true, runId: 'run-again' });
    expect(
      await store.webhookDeliveries.recordDelivery(
        'prune',
        'msg_new',
        '2026-11-24T10:00:00Z',
        'run-x',
      ),
    ).toEqual({ fresh: false, runId: 'run-new' });
  });

  it('prune every pipeline but the excepted ones (scheme none: no time window bounds a copy)', async () => {
    await store.webhookDeliveries.recordDelivery(
      'signed',
      'msg_a',
      '2026-11-20T08:00:00Z',
      'run-a',
    );
    await store.webhookDeliveries.recordDelivery(
      'unsigned',
      'none:k1',
      '2026-11-20T08:00:00Z',
      'run-k1',
    );
    expect(
      await store.webhookDeliveries.pruneDeliveries('2026-11-21T00:00:00Z', {
        exceptPipelines: ['unsigned'],
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await store.webhookDeliveries.recordDelivery(
        'signed',
        'msg_a',
        '2026-11-24T10:00:00Z',
        'run-b',
      ),
    ).toEqual({ fresh: true, runId: 'run-b' });
    expect(
      await store.webhookDeliveries.recordDelivery(
        'unsigned',
        'none:k1',
        '2026-11-24T10:00:00Z',
        'run-k2',
      ),
    ).toEqual({ fresh: false, runId: 'run-k1' });
  });

  it('refuse an empty or overlong delivery id and run id, naming the field', async () => {
    await expect(
      store.webhookDeliveries.recordDelivery('daily', '', '2026-11-24T10:00:00Z', 'run-1'),
    ).rejects.toThrow(/deliveryId/);
    await expect(
      store.webhookDeliveries.recordDelivery(
        'daily',
        'x'.repeat(501),
        '2026-11-24T10:00:00Z',
        'run-1',
      ),
    ).rejects.toThrow(/deliveryId/);
    await expect(
      store.webhookDeliveries.recordDelivery('daily', 'msg_9', '2026-11-24T10:00:00Z', ''),
    ).rejects.toThrow(/runId/);
  });

  it('answer a delivery recorded before migration 0006 as seen, without a run id', async () => {
    const schema = uniqueSchema('hooks_upgrade');
    const before = await open(
      schema,
      bundledMigrations().filter((m) => m.name < '0006'),
    );
    await before.migrate();
    // Written as 0004 left the table: no run_id column yet.
    await before.db
      .insertInto('webhook_deliveries')
      .values({
        pipeline: 'daily',
        delivery_id: 'msg_legacy',
        received_at: new Date().toISOString(),
      })
      .execute();
    const upgraded = await open(schema);
    expect((await upgraded.migrate()).applied).toEqual([
      '0006_webhook_delivery_runs',
      '0007_json_key_order',
      '0008_dead_letter_position',
      '0009_runs_queued_index',
      '0010_schema_changes',
      '0011_runs_finished_index',
      '0012_run_breakdown',
      '0013_webhook_inbox',
    ]);
    expect(
      await upgraded.webhookDeliveries.recordDelivery(
        'daily',
        'msg_legacy',
        '2026-11-24T10:00:00Z',
        'run-1',
      ),
    ).toEqual({ fresh: false, runId: undefined });
  });
});
