/**
 * Where the destination remembers the thread of each key (key → `ts` of the first message),
 * so "alert resolved" lands in the thread of "alert fired". The built-in store is a bounded
 * in-memory map; a server can inject a persistent one so threads survive restarts.
 *
 * @packageDocumentation
 */

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
 * A bounded map that forgets the least recently used entry first.
 *
 * @example
 * ```ts
 * const seen = new BoundedMap<string, string>(2);
 * seen.set('a', '1'); seen.set('b', '2'); seen.set('c', '3');
 * seen.get('a'); // undefined (forgotten)
 * ```
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      // Re-insert so the entry becomes the most recent one.
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  set(key: K, value: V): void {
    if (this.capacity <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
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
