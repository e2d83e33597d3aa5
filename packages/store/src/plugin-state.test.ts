import { ConfigError, type PluginStateStore } from '@sluice/core';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  openTestPGlite,
  uniqueSchema,
  type TestDatabase,
  type TestPGlite,
} from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';
import { createPluginStateStore } from './plugin-state.js';

interface Backend {
  name: string;
  /** Two stores on the same schema: two server instances sharing one database. */
  open(): Promise<[Store, Store]>;
  dispose(): Promise<void>;
}

let database: TestDatabase | undefined;
let shared: TestPGlite | undefined;

const backends: Backend[] = [
  {
    name: 'PostgreSQL',
    async open() {
      database ??= await createTestDatabase('sluice_store_test_plugin_state');
      const schema = uniqueSchema('state');
      return [
        await createStore({ url: database.url, schema, maxConnections: 4 }),
        await createStore({ url: database.url, schema, maxConnections: 4 }),
      ];
    },
    async dispose() {
      await database?.drop();
    },
  },
  {
    name: 'PGlite',
    async open() {
      shared ??= await openTestPGlite();
      const schema = uniqueSchema('state');
      return [
        await createStore({ pglite: shared.pglite, schema }),
        await createStore({ pglite: shared.pglite, schema }),
      ];
    },
    async dispose() {
      await shared?.dispose();
    },
  },
];

function fakeClock(start = Date.parse('2026-11-24T08:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe.each(backends)('plugin state on $name', (backend) => {
  let store: Store;
  let other: Store;
  let namespaceCount = 0;
  const namespace = () => `destination:slack:test-${++namespaceCount}`;
  const rowsOf = async (ns: string) =>
    (
      await store.db
        .selectFrom('plugin_state')
        .select('key')
        .where('namespace', '=', ns)
        .orderBy('key')
        .execute()
    ).map((r) => r.key);

  beforeAll(async () => {
    [store, other] = await backend.open();
    await store.migrate();
  });
  afterAll(async () => {
    await Promise.all([store?.close(), other?.close()]);
    await backend.dispose();
  });

  it('gets, sets, replaces and deletes JSON values (U+0000 included)', async () => {
    const state = store.pluginState(namespace());
    expect(await state.get('a')).toBeUndefined();
    await state.set('a', { ts: '1764057600.000100', tags: ['x', 1, true, null] });
    expect(await state.get('a')).toEqual({ ts: '1764057600.000100', tags: ['x', 1, true, null] });
    await state.set('a', 'nul\u0000inside');
    expect(await state.get('a')).toBe('nul\u0000inside');
    await state.set('n', 0);
    expect(await state.get('n')).toBe(0);
    expect(await state.delete('a')).toBe(true);
    expect(await state.delete('a')).toBe(false);
    expect(await state.get('a')).toBeUndefined();
  });

  it('keeps namespaces apart and is shared by every store on the same database', async () => {
    const ns = namespace();
    const a = store.pluginState(ns);
    const b = store.pluginState(namespace());
    await a.set('k', 'from a');
    expect(await b.get('k')).toBeUndefined();
    expect(await other.pluginState(ns).get('k')).toBe('from a');
  });

  it('setIfAbsent: exactly one of many concurrent callers on two stores wins', async () => {
    const ns = namespace();
    const callers: PluginStateStore[] = [store.pluginState(ns), other.pluginState(ns)];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        callers[i % 2]!.setIfAbsent('lock', i, { ttlMs: 60_000 }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await callers[0]!.get('lock')).toBe(results.indexOf(true));
    expect(await callers[1]!.setIfAbsent('lock', 'again')).toBe(false);
  });

  it('expired keys are invisible, replaced by setIfAbsent and deleted when read', async () => {
    const clock = fakeClock();
    const ns = namespace();
    const state = createPluginStateStore(store.db, ns, { now: clock.now });
    await state.set('short', 'x', { ttlMs: 1_000 });
    await state.set('forever', 'y');
    clock.advance(999);
    expect(await state.get('short')).toBe('x');
    clock.advance(1);
    expect(await state.get('short')).toBeUndefined();
    expect(await rowsOf(ns)).toEqual(['forever']);
    await state.set('lock', 1, { ttlMs: 500 });
    expect(await state.setIfAbsent('lock', 2, { ttlMs: 500 })).toBe(false);
    clock.advance(500);
    expect(await state.delete('lock')).toBe(false);
    await state.set('lock', 3, { ttlMs: 500 });
    clock.advance(600);
    expect(await state.setIfAbsent('lock', 4)).toBe(true);
    clock.advance(365 * 86_400_000);
    expect(await state.get('lock')).toBe(4);
    expect(await state.get('forever')).toBe('y');
  });

  it("writes sweep the namespace's expired keys, not other namespaces'", async () => {
    const clock = fakeClock();
    const [ns1, ns2] = [namespace(), namespace()];
    const one = createPluginStateStore(store.db, ns1, { now: clock.now });
    const two = createPluginStateStore(store.db, ns2, { now: clock.now });
    for (const key of ['a', 'b', 'c']) await one.set(key, key, { ttlMs: 1_000 });
    await two.set('z', 'z', { ttlMs: 1_000 });
    clock.advance(60 * 60_000);
    await one.set('fresh', 1);
    expect(await rowsOf(ns1)).toEqual(['fresh']);
    expect(await rowsOf(ns2)).toEqual(['z']);
  });

  it('rejects bad namespaces, keys, values and ttls with a ConfigError naming them', async () => {
    expect(() => store.pluginState('')).toThrow(ConfigError);
    const state = store.pluginState(namespace());
    await expect(state.get('')).rejects.toMatchObject({ issues: [{ path: 'key' }] });
    await expect(state.set('k', undefined as never)).rejects.toMatchObject({
      issues: [{ path: 'value' }],
    });
    await expect(state.setIfAbsent('k', 1, { ttlMs: -1 })).rejects.toMatchObject({
      issues: [{ path: 'options.ttlMs' }],
    });
  });

  it("is a table of the store's schema with the expiry index", async () => {
    const { rows } = await sql<{
      indexname: string;
    }>`SELECT indexname FROM pg_indexes WHERE schemaname = ${store.schema} AND tablename = 'plugin_state' ORDER BY indexname`.execute(
      store.db,
    );
    expect(rows.map((r) => r.indexname)).toEqual(['plugin_state_expires_idx', 'plugin_state_pkey']);
  });
});
