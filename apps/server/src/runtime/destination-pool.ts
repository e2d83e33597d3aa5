import { createHash } from 'node:crypto';
import {
  capabilitiesOf,
  parseConfig,
  type DeliveryPolicy,
  type DestinationCapabilities,
  type DestinationInstance,
  type PluginContext,
  type PluginRegistry,
  type PluginStateStore,
  type SchemaChangeEvent,
} from '@sluice/core';
import type { Registry } from 'prom-client';

/** A destination ready for a router: a shared instance, its capabilities and delivery policy. */
export interface PooledDestination {
  instance: DestinationInstance;
  capabilities: DestinationCapabilities;
  policy: DeliveryPolicy;
}

interface Entry {
  key: string;
  ready: Promise<{ live: DestinationInstance; pooled: PooledDestination }>;
}

/**
 * Keeps one live instance per destination for as long as its configuration is unchanged, so
 * connections are reused across runs and stateful destinations (Prometheus series, Slack
 * threads) survive between runs. Routers get a view without `open`/`close`: only the pool opens
 * and closes instances (when the config changes, and at shutdown). With `stateFor`, each
 * instance gets durable `ctx.state` in the namespace `destination:<kind>:<name>`, so what it
 * remembers (alerts sent, threads) also survives config changes and restarts. With
 * `recordSchemaChange`, the table changes an instance reports (`ctx.onSchemaChange`) are
 * recorded under the destination's name and kind (the store's schema-change log).
 *
 * @example
 * ```ts
 * const pool = new DestinationPool(
 *   registry,
 *   ctx,
 *   (namespace) => store.pluginState(namespace),
 *   async (destination, kind, event) => void (await store.schemaChanges.record({ destination, kind, ...event })),
 * );
 * const warehouse = await pool.get('warehouse', 'database', options, { batch: { maxRecords: 500 } });
 * ```
 */
export class DestinationPool {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly registry: PluginRegistry,
    private readonly ctx: PluginContext,
    private readonly stateFor?: (namespace: string) => PluginStateStore,
    private readonly recordSchemaChange?: (
      destination: string,
      kind: string,
      event: SchemaChangeEvent,
    ) => Promise<void>,
  ) {}

  async get(
    name: string,
    kind: string,
    options: Record<string, unknown>,
    policy: DeliveryPolicy,
  ): Promise<PooledDestination> {
    const key = createHash('sha256')
      .update(JSON.stringify([kind, options, policy]))
      .digest('hex');
    const existing = this.#entries.get(name);
    if (existing?.key === key) return (await existing.ready).pooled;
    if (existing) await this.#close(name, existing);
    const ready = this.#create(name, kind, options, policy);
    this.#entries.set(name, { key, ready });
    try {
      return (await ready).pooled;
    } catch (error) {
      if (this.#entries.get(name)?.ready === ready) this.#entries.delete(name);
      throw error;
    }
  }

  async #create(
    name: string,
    kind: string,
    options: Record<string, unknown>,
    policy: DeliveryPolicy,
  ) {
    const path = ['destinations', name];
    const definition = this.registry.require('destination', kind, path);
    const config = parseConfig(definition.configSchema, options, path);
    const state = this.stateFor?.(`destination:${kind}:${name}`);
    // Destination plugins bind `destination: <kind>` themselves: the configured name goes under `instance`.
    const logger = this.ctx.logger.child({ component: 'destination', instance: name });
    const record = this.recordSchemaChange;
    const live = await definition.create(config, {
      ...this.ctx,
      logger,
      ...(state ? { state } : {}),
      ...(record ? { onSchemaChange: (event) => record(name, kind, event) } : {}),
    });
    await live.open?.();
    const pooled: PooledDestination = {
      instance: {
        write: (batch, writeOptions) => live.write(batch, writeOptions),
        ...(live.check ? { check: () => live.check!() } : {}),
      },
      capabilities: capabilitiesOf(definition, config),
      policy,
    };
    return { live, pooled };
  }

  async #close(name: string, entry: Entry): Promise<void> {
    this.#entries.delete(name);
    try {
      const { live } = await entry.ready;
      await live.close?.();
    } catch (error) {
      this.ctx.logger.warn({ destination: name, err: error }, 'closing a destination failed');
    }
  }

  /** Closes instances whose destination no longer exists. */
  async retain(names: Iterable<string>): Promise<void> {
    const keep = new Set(names);
    for (const [name, entry] of [...this.#entries])
      if (!keep.has(name)) await this.#close(name, entry);
  }

  /** prom-client registries of destinations that expose one (the Prometheus destination). */
  async registries(): Promise<Registry[]> {
    const out: Registry[] = [];
    for (const entry of this.#entries.values()) {
      try {
        const { live } = await entry.ready;
        const getRegistry = (live as { getRegistry?: () => Registry }).getRegistry;
        if (typeof getRegistry === 'function') out.push(getRegistry.call(live));
      } catch {
        // a destination that failed to start has no metrics
      }
    }
    return out;
  }

  async closeAll(): Promise<void> {
    for (const [name, entry] of [...this.#entries]) await this.#close(name, entry);
  }
}
