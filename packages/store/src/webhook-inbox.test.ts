import type { JsonObject } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
      database ??= await createTestDatabase('sluice_store_test_webhook_inbox');
      return createStore({ url: database.url, schema, maxConnections: 8 });
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

const at = '2026-12-04T02:00:00.000Z';

describe.each(backends)('webhook inbox on $name', (backend) => {
  const stores: Store[] = [];
  let store: Store;
  let other: Store;

  beforeAll(async () => {
    const schema = uniqueSchema('inbox');
    store = await backend.open(schema);
    stores.push(store);
    await store.migrate();
    other = await backend.open(schema);
    stores.push(other);
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await backend.dispose();
  });

  it('append a delivery once, keep its records key order, and absorb copies also after its row was removed', async () => {
    const records: JsonObject[] = [{ z: 1, a: 'x' }, { m: { y: 2, b: 3 } }];
    const first = await store.webhookInbox.append({
      pipeline: 'events',
      deliveryId: 'msg_1',
      receivedAt: at,
      records,
      maxDepth: 100,
    });
    expect(first.outcome).toBe('appended');
    expect(
      await other.webhookInbox.append({
        pipeline: 'events',
        deliveryId: 'msg_1',
        receivedAt: at,
        records,
        maxDepth: 100,
      }),
    ).toEqual({ outcome: 'duplicate' });
    const entries = await other.webhookInbox.read('events', { after: 0, limit: 10 });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ deliveryId: 'msg_1', receivedAt: at });
    expect(JSON.stringify(entries[0]!.records)).toBe(JSON.stringify(records));
    const position = (first as { position: number }).position;
    expect(entries[0]!.position).toBe(position);
    expect(await store.webhookInbox.remove('events', position)).toBe(1);
    expect(await store.webhookInbox.depth('events')).toBe(0);
    expect(
      await store.webhookInbox.append({
        pipeline: 'events',
        deliveryId: 'msg_1',
        receivedAt: at,
        records,
        maxDepth: 100,
      }),
    ).toEqual({ outcome: 'duplicate' });
    // The claim is the deliveries table's: a run-per-delivery lookup of the same id sees it.
    expect(
      (await store.webhookDeliveries.recordDelivery('events', 'msg_1', at, 'run-x')).fresh,
    ).toBe(false);
  });

  it('let exactly one of twenty concurrent copies on two instances append', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? store : other).webhookInbox.append({
          pipeline: 'race',
          deliveryId: 'msg_race',
          receivedAt: at,
          records: [{ i }],
          maxDepth: 100,
        }),
      ),
    );
    expect(results.filter((r) => r.outcome === 'appended')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(19);
    expect(await store.webhookInbox.depth('race')).toBe(1);
  });

  it('refuse past maxDepth without claiming the id, so the retry of the same id is appended once there is room', async () => {
    const append = (id: string) =>
      store.webhookInbox.append({
        pipeline: 'full',
        deliveryId: id,
        receivedAt: at,
        records: [{ id }],
        maxDepth: 2,
      });
    expect((await append('a')).outcome).toBe('appended');
    expect((await append('b')).outcome).toBe('appended');
    expect(await append('c')).toEqual({ outcome: 'full', depth: 2 });
    // A copy of an accepted delivery is still a duplicate while the inbox is full.
    expect(await append('a')).toEqual({ outcome: 'duplicate' });
    const [first] = await store.webhookInbox.read('full', { after: 0, limit: 1 });
    await store.webhookInbox.remove('full', first!.position);
    expect((await append('c')).outcome).toBe('appended');
    expect(await store.webhookInbox.pending()).toContain('full');
  });

  it('commit concurrent appends of one instance together, in arrival order, with copies absorbed and the bound kept', async () => {
    const append = (id: string, i: number) =>
      store.webhookInbox.append({
        pipeline: 'group',
        deliveryId: id,
        receivedAt: at,
        records: [{ id, i }],
        maxDepth: 5,
      });
    // One I/O turn: these share statements; a copy of g0 rides along in the same group.
    const ids = ['g0', 'g1', 'g2', 'g0', 'g3', 'g4', 'g5', 'g6'];
    const results = await Promise.all(ids.map((id, i) => append(id, i)));
    expect(results.map((r) => r.outcome)).toEqual([
      'appended',
      'appended',
      'appended',
      'duplicate',
      'appended',
      'appended',
      'full',
      'full',
    ]);
    expect(results[6]).toEqual({ outcome: 'full', depth: 5 });
    const positions = results.flatMap((r) => (r.outcome === 'appended' ? [r.position] : []));
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    const entries = await other.webhookInbox.read('group', { after: 0, limit: 10 });
    expect(entries.map((e) => e.deliveryId)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4']);
    expect(entries[0]!.records).toEqual([{ id: 'g0', i: 0 }]);
    // The refused ids were not claimed: once there is room, their retry is appended.
    await other.webhookInbox.remove('group', entries[1]!.position);
    expect((await append('g5', 6)).outcome).toBe('appended');
  });

  it('count a copy of an earlier delivery in its group near the bound, and answer it as a duplicate', async () => {
    const append = (id: string) =>
      store.webhookInbox.append({
        pipeline: 'near-copy',
        deliveryId: id,
        receivedAt: at,
        records: [{ id }],
        maxDepth: 3,
      });
    expect((await append('p1')).outcome).toBe('appended');
    // Room for two: the copy of p1 takes the first place, p2 the second, p3 none.
    const results = await Promise.all(['p1', 'p2', 'p3'].map(append));
    expect(results.map((r) => r.outcome)).toEqual(['duplicate', 'appended', 'full']);
    expect((await append('p3')).outcome).toBe('appended');
    expect(await append('p4')).toEqual({ outcome: 'full', depth: 3 });
  });

  it('count the depth exactly near maxDepth, including what another instance appended', async () => {
    const append = (on: Store, id: string) =>
      on.webhookInbox.append({
        pipeline: 'near',
        deliveryId: id,
        receivedAt: at,
        records: [{ id }],
        maxDepth: 4,
      });
    expect((await append(other, 'n1')).outcome).toBe('appended');
    expect((await append(other, 'n2')).outcome).toBe('appended');
    expect((await append(store, 'n3')).outcome).toBe('appended');
    expect((await append(other, 'n4')).outcome).toBe('appended');
    expect(await append(store, 'n5')).toEqual({ outcome: 'full', depth: 4 });
    expect(await append(other, 'n5')).toEqual({ outcome: 'full', depth: 4 });
    expect(await store.webhookInbox.depth('near')).toBe(4);
  });

  it('read in position order after a checkpoint, per pipeline, up to the limit, with every concurrent append seen exactly once', async () => {
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? store : other).webhookInbox.append({
          pipeline: i % 3 === 0 ? 'order-b' : 'order-a',
          deliveryId: `msg_${i}`,
          receivedAt: at,
          records: [{ i }],
          maxDepth: 1000,
        }),
      ),
    );
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const batch = await other.webhookInbox.read('order-a', { after, limit: 7 });
      if (batch.length === 0) break;
      expect(batch.length).toBeLessThanOrEqual(7);
      const positions = batch.map((e) => e.position);
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
      expect(positions[0]!).toBeGreaterThan(after);
      seen.push(...batch.map((e) => e.records[0]!.i as number));
      after = positions.at(-1)!;
    }
    expect(seen.sort((x, y) => x - y)).toEqual(
      Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 !== 0),
    );
    expect(await store.webhookInbox.depth('order-b')).toBe(20);
  });

  it('name the field of a bad argument', async () => {
    await expect(
      store.webhookInbox.append({
        pipeline: 'bad',
        deliveryId: '',
        receivedAt: at,
        records: [],
        maxDepth: 1,
      }),
    ).rejects.toThrow(/deliveryId/);
    await expect(store.webhookInbox.read('bad', { after: -1, limit: 1 })).rejects.toThrow(/after/);
    await expect(store.webhookInbox.read('bad', { after: 0, limit: 0 })).rejects.toThrow(/limit/);
  });
});
