import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPGlite, type TestPGlite } from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';

describe('the PGlite dialect', () => {
  let shared: TestPGlite;
  let store: Store;

  beforeAll(async () => {
    shared = await openTestPGlite();
    store = await createStore({ pglite: shared.pglite, schema: 'dialect' });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    // The store did not open this PGlite, so it left it open.
    expect(shared.pglite.closed).toBe(false);
    await shared.dispose();
  });

  it('gives each transaction the session to itself: a concurrent rollback never undoes other work', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const failing = store.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('checkpoints')
        .values({
          pipeline: 'rolled-back',
          stream: '',
          state: '1',
          updated_at: new Date().toISOString(),
        })
        .execute();
      await held;
      throw new Error('abort this transaction');
    });
    // Issued while the transaction is open: must wait for it, not run inside it.
    const outside = store.checkpoints.commit('kept', { ok: true });
    const outsideRaw = shared.pglite.query('SELECT 1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await expect(failing).rejects.toThrow('abort this transaction');
    await outside;
    await outsideRaw;
    expect(await store.checkpoints.get('kept')).toEqual({ ok: true });
    expect(await store.checkpoints.get('rolled-back')).toBeUndefined();
  });

  it('commits transactions and reports affected rows', async () => {
    await store.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('webhook_deliveries')
        .values([
          { pipeline: 'p', delivery_id: 'a', received_at: '2026-01-01T00:00:00Z' },
          { pipeline: 'p', delivery_id: 'b', received_at: '2026-01-01T00:00:00Z' },
        ])
        .execute();
    });
    const result = await store.db
      .deleteFrom('webhook_deliveries')
      .where('pipeline', '=', 'p')
      .executeTakeFirst();
    expect(result.numDeletedRows).toBe(2n);
  });

  it('applies transaction settings and runs parameterless multi-statement text', async () => {
    const level = await store.db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(
        async (trx) =>
          (
            await sql<{
              level: string;
            }>`SELECT current_setting('transaction_isolation') AS level`.execute(trx)
          ).rows[0]?.level,
      );
    expect(level).toBe('serializable');
    const last = await sql<{ b: number }>`SELECT 1 AS a; SELECT 2 AS b`.execute(store.db);
    expect(last.rows).toEqual([{ b: 2 }]);
  });
});
