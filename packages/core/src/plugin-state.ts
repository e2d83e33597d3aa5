/**
 * Durable key/value state for plugins: what a plugin must remember across runs and restarts
 * (alerts already sent, the thread of an alert, a token's expiry) without a store of its own.
 * The engine gives each plugin instance a store namespaced to it (`ctx.state`); embedders and
 * tests use {@link createMemoryPluginState}. No dependencies: `@sluice/store` implements it
 * over PostgreSQL and PGlite.
 *
 * @packageDocumentation
 */
import { ConfigError } from './errors.js';
import type { JsonValue } from './record.js';
import { systemClock, type Clock } from './context.js';

/**
 * Options of a write.
 *
 * @example
 * ```ts
 * await ctx.state?.set('last-alert', '2026-11-24', { ttlMs: 72 * 3_600_000 });
 * ```
 */
export interface PluginStateSetOptions {
  /** Time to live in milliseconds; the key reads as absent once it has passed. Absent: kept until deleted. */
  ttlMs?: number;
}

/**
 * A small durable key/value store for one plugin instance. Values are JSON; a key may expire
 * (`ttlMs`), after which every method treats it as absent. Keys are non-empty strings of at most
 * {@link MAX_PLUGIN_STATE_KEY_LENGTH} characters. Every method may throw when the backing store
 * is unreachable: treat that as a retryable failure of the current write.
 *
 * @example
 * ```ts
 * create(config, ctx) {
 *   return {
 *     async write(batch) {
 *       for (const record of batch.records) {
 *         const key = `sent:${String(record.id)}`;
 *         if ((await ctx.state?.get(key)) !== undefined) continue; // sent by an earlier run
 *         await send(record);
 *         await ctx.state?.set(key, { at: ctx.clock.now() }, { ttlMs: 86_400_000 });
 *       }
 *     },
 *   };
 * }
 * ```
 */
export interface PluginStateStore {
  /** The value of `key`, or `undefined` when it is absent or expired. */
  get(key: string): Promise<JsonValue | undefined>;
  /** Stores `value` under `key`, replacing any previous value and expiry. */
  set(key: string, value: JsonValue, options?: PluginStateSetOptions): Promise<void>;
  /** Removes `key`; resolves `true` when a live (unexpired) value was removed. */
  delete(key: string): Promise<boolean>;
  /**
   * Stores `value` only when `key` is absent or expired, atomically: of several concurrent
   * callers (even on different server instances) exactly one gets `true`.
   *
   * @example
   * ```ts
   * if (await ctx.state!.setIfAbsent(`lock:${day}`, ctx.clock.now(), { ttlMs: 60_000 })) await sendReport(day);
   * ```
   */
  setIfAbsent(key: string, value: JsonValue, options?: PluginStateSetOptions): Promise<boolean>;
}

/** Longest accepted key, in characters. */
export const MAX_PLUGIN_STATE_KEY_LENGTH = 1000;

/**
 * Checks a key given to a {@link PluginStateStore}; throws a `ConfigError` at `key` when it is
 * not a non-empty string of at most {@link MAX_PLUGIN_STATE_KEY_LENGTH} characters.
 * Implementations call it first, so every backend rejects the same input.
 *
 * @example
 * ```ts
 * checkPluginStateKey('sent:42'); // ok
 * checkPluginStateKey('');        // throws ConfigError at "key"
 * ```
 */
export function checkPluginStateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_PLUGIN_STATE_KEY_LENGTH) {
    throw new ConfigError([
      {
        path: 'key',
        message: `expected a non-empty string of at most ${MAX_PLUGIN_STATE_KEY_LENGTH} characters, got ${describe(key)}`,
      },
    ]);
  }
}

/**
 * Checks the arguments of a {@link PluginStateStore} write (`set`, `setIfAbsent`); throws a
 * `ConfigError` naming the bad one (`key`, `value` or `options.ttlMs`).
 *
 * @example
 * ```ts
 * checkPluginStateWrite('sent:42', { at: 1 }, { ttlMs: 1000 }); // ok
 * checkPluginStateWrite('sent:42', 1, { ttlMs: 0 });            // throws ConfigError at "options.ttlMs"
 * ```
 */
export function checkPluginStateWrite(
  key: string,
  value: JsonValue,
  options?: PluginStateSetOptions,
): void {
  checkPluginStateKey(key);
  if (
    value === undefined ||
    typeof value === 'function' ||
    typeof value === 'symbol' ||
    typeof value === 'bigint'
  ) {
    throw new ConfigError([
      { path: 'value', message: `expected a JSON value, got ${typeof value}` },
    ]);
  }
  const ttl = options?.ttlMs;
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)) {
    throw new ConfigError([
      {
        path: 'options.ttlMs',
        message: `expected a positive number of milliseconds, got ${describe(ttl)}`,
      },
    ]);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  return typeof value === 'number' ? String(value) : typeof value;
}

/** Options of {@link createMemoryPluginState}. */
export interface MemoryPluginStateOptions {
  /** Decides expiry; default the system clock (tests pass a fake one). */
  clock?: Pick<Clock, 'now'>;
  /** Keys kept at most; the least recently written is forgotten first. Default unbounded. */
  maxKeys?: number;
}

/**
 * A {@link PluginStateStore} in process memory: lost on restart, shared by whoever holds it.
 * For tests and embedding; values are copied in and out, as a database would.
 *
 * @example
 * ```ts
 * const state = createMemoryPluginState();
 * const ctx = createPluginContext({ state });
 * await state.setIfAbsent('a', 1); // true
 * await state.setIfAbsent('a', 2); // false
 * await state.get('a');            // 1
 * ```
 */
export function createMemoryPluginState(options: MemoryPluginStateOptions = {}): PluginStateStore {
  const clock = options.clock ?? systemClock;
  const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
  // A Map, not lru-cache: core keeps no runtime dependency it can avoid (DESIGN §11), and
  // lru-cache (3.6 MB installed) would replace only the eviction loop in write() below.
  const entries = new Map<string, { value: JsonValue; expiresAt: number | undefined }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  const write = (key: string, value: JsonValue, ttlMs: number | undefined) => {
    entries.delete(key);
    entries.set(key, {
      value: structuredClone(value),
      expiresAt: ttlMs === undefined ? undefined : clock.now() + ttlMs,
    });
    while (entries.size > maxKeys) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
  };
  return {
    async get(key) {
      checkPluginStateKey(key);
      const entry = live(key);
      return entry === undefined ? undefined : structuredClone(entry.value);
    },
    async set(key, value, setOptions) {
      checkPluginStateWrite(key, value, setOptions);
      write(key, value, setOptions?.ttlMs);
    },
    async delete(key) {
      checkPluginStateKey(key);
      const existed = live(key) !== undefined;
      entries.delete(key);
      return existed;
    },
    async setIfAbsent(key, value, setOptions) {
      checkPluginStateWrite(key, value, setOptions);
      if (live(key) !== undefined) return false;
      write(key, value, setOptions?.ttlMs);
      return true;
    },
  };
}
