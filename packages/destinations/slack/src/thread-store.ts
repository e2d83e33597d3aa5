/**
 * Where the destination remembers the thread of each key (key → `ts` of the first message),
 * so "alert resolved" lands in the thread of "alert fired". With the engine's plugin state
 * (`ctx.state`) threads are kept there and survive restarts; otherwise in a bounded in-memory
 * map. An embedder can also inject a store of its own.
 *
 * @packageDocumentation
 */
import type { PluginStateStore } from '@sluice/core';
import { LRUCache } from 'lru-cache';
import { stateKey } from './state-key.js';

/**
 * A key/value store for thread timestamps. Keys are `<channel>:<thread key>`; values are the
 * Slack `ts` of the thread's first message. Both methods may be synchronous or asynchronous.
 *
 * @example
 * ```ts
 * const store: SlackThreadStore = {
 *   get: (key) => redis.get(`slack-thread:${key}`).then((v) => v ?? undefined),
 *   set: (key, ts) => redis.set(`slack-thread:${key}`, ts, 'EX', 7 * 86400).then(() => undefined),
 * };
 * ```
 */
export interface SlackThreadStore {
  get(key: string): Promise<string | undefined> | string | undefined;
  set(key: string, ts: string): Promise<void> | void;
}

/**
 * A bounded map that forgets the least recently used entry first (`get` counts as a use, `has`
 * does not): a thin face over `lru-cache`, kept so the export stays the same.
 *
 * @example
 * ```ts
 * const seen = new BoundedMap<string, string>(2);
 * seen.set('a', '1'); seen.set('b', '2'); seen.set('c', '3');
 * seen.get('a'); // undefined (forgotten)
 * ```
 */
export class BoundedMap<K extends NonNullable<unknown>, V extends NonNullable<unknown>> {
  readonly #entries: LRUCache<K, V>;

  constructor(readonly capacity: number) {
    // lru-cache wants a positive whole `max`; a capacity of 0 or less keeps nothing (see set).
    this.#entries = new LRUCache<K, V>({ max: Math.max(1, Math.floor(capacity)) });
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  set(key: K, value: V): void {
    if (this.capacity <= 0) return;
    this.#entries.set(key, value);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}

/**
 * The default thread store: in memory, at most `maxKeys` keys, lost on restart.
 *
 * @example
 * ```ts
 * const store = createMemoryThreadStore(10_000);
 * store.set('C0123ABCD:disk-full', '1764057600.000100');
 * ```
 */
export function createMemoryThreadStore(maxKeys: number): SlackThreadStore {
  const map = new BoundedMap<string, string>(maxKeys);
  return {
    get: (key) => map.get(key),
    set: (key, ts) => map.set(key, ts),
  };
}

/**
 * A thread store over the plugin state (`ctx.state`): threads survive restarts and are shared
 * by every server instance on the same store; each is forgotten `ttlMs` after its first message.
 *
 * @example
 * ```ts
 * const threads = createStateThreadStore(ctx.state!, 30 * 86_400_000);
 * await threads.set('C0123ABCD:disk-full', '1764057600.000100');
 * ```
 */
export function createStateThreadStore(state: PluginStateStore, ttlMs: number): SlackThreadStore {
  return {
    async get(key) {
      const ts = await state.get(stateKey('thread', key));
      return typeof ts === 'string' ? ts : undefined;
    },
    async set(key, ts) {
      await state.set(stateKey('thread', key), ts, { ttlMs });
    },
  };
}
