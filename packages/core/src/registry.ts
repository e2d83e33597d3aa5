import semver from 'semver';
import { ConfigError } from './errors.js';
import {
  PLUGIN_API_VERSION,
  definitionProblems,
  type AnyDefinition,
  type ConnectorDefinition,
  type ConnectorInstance,
  type DestinationDefinition,
  type DestinationInstance,
  type PluginDefinition,
  type TransformDefinition,
  type TransformFn,
} from './plugin.js';
import type { PluginContext } from './context.js';
import { parseConfig } from './validate.js';

type Kinds = {
  connector: ConnectorDefinition<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  destination: DestinationDefinition<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  transform: TransformDefinition<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

/** Where a registered definition came from, for duplicate errors and listings. */
export interface RegistrationOrigin {
  plugin: string;
}

/**
 * Tells whether a plugin built for `range` (e.g. `^1`) runs on this plugin API version.
 *
 * @example
 * ```ts
 * isCompatiblePluginRange('^1'); // true with API 1.x
 * isCompatiblePluginRange('^2'); // false
 * ```
 */
export function isCompatiblePluginRange(
  range: string,
  apiVersion: string = PLUGIN_API_VERSION,
): boolean {
  return semver.validRange(range) !== null && semver.satisfies(apiVersion, range);
}

/**
 * Holds every connector, destination and transform kind known to an engine. Kinds are
 * registered from plugins (first- or third-party) and looked up by name; nothing imports a
 * concrete plugin.
 *
 * @example
 * ```ts
 * const registry = new PluginRegistry();
 * registry.register(definePlugin({ name: 'my-plugin', sluice: '^1', connectors: [myConnector] }));
 * const connector = await registry.createConnector('my-kind', rawConfig, ctx, ['sources', 'crm']);
 * ```
 */
export class PluginRegistry {
  readonly #defs = { connector: new Map(), destination: new Map(), transform: new Map() } as {
    [K in keyof Kinds]: Map<string, { definition: Kinds[K]; origin: RegistrationOrigin }>;
  };
  readonly #plugins = new Map<string, PluginDefinition>();

  /**
   * Registers every definition of a plugin. Throws a `ConfigError` when the plugin targets an
   * incompatible plugin API, when its name is already registered, or when one of its kinds
   * collides with a registered one; nothing of the plugin is registered in that case.
   */
  register(plugin: PluginDefinition): this {
    const issues: { path: string; message: string }[] = [];
    const where = `plugins[${JSON.stringify(plugin?.name)}]`;
    if (!plugin || plugin.type !== 'plugin') {
      throw new ConfigError([
        { path: 'plugins', message: 'not a plugin: export the result of definePlugin(...)' },
      ]);
    }
    if (!isCompatiblePluginRange(plugin.sluice)) {
      issues.push({
        path: `${where}.sluice`,
        message: `plugin "${plugin.name}" requires plugin API ${JSON.stringify(plugin.sluice)}, but this Sluice provides ${PLUGIN_API_VERSION}`,
      });
    }
    if (this.#plugins.has(plugin.name)) {
      issues.push({ path: where, message: `plugin "${plugin.name}" is already registered` });
    }
    // Definitions are checked here too: a plugin may build them by hand or with another copy of
    // @sluice/core, and a broken one must be refused naming the plugin and the kind.
    const all: AnyDefinition[] = [];
    for (const [list, type] of [
      ['connectors', 'connector'],
      ['destinations', 'destination'],
      ['transforms', 'transform'],
    ] as const) {
      const entries: unknown = plugin[list];
      if (entries === undefined) continue;
      if (!Array.isArray(entries)) {
        issues.push({
          path: `${where}.${list}`,
          message: `plugin "${plugin.name}": ${list} must be an array of define${type[0]!.toUpperCase()}${type.slice(1)}(...) results`,
        });
        continue;
      }
      entries.forEach((definition: unknown, index: number) => {
        const path = `${where}.${list}[${index}]`;
        const problems = definitionProblems(definition, type);
        const declared = (definition as { type?: unknown } | null)?.type;
        if (problems.length === 0 && declared !== type) {
          problems.push(
            `${JSON.stringify((definition as { kind: string }).kind)} is a ${String(declared)} definition, listed under ${list}`,
          );
        }
        for (const message of problems)
          issues.push({ path, message: `plugin "${plugin.name}": ${message}` });
        if (problems.length === 0) all.push(definition as AnyDefinition);
      });
    }
    const seen = new Set<string>();
    for (const definition of all) {
      const key = `${definition.type}:${definition.kind}`;
      const existing = this.#defs[definition.type].get(definition.kind);
      if (existing) {
        issues.push({
          path: where,
          message: `${definition.type} kind "${definition.kind}" is already registered by plugin "${existing.origin.plugin}"`,
        });
      } else if (seen.has(key)) {
        issues.push({
          path: where,
          message: `${definition.type} kind "${definition.kind}" is defined twice`,
        });
      }
      seen.add(key);
    }
    if (issues.length > 0)
      throw new ConfigError(issues, { title: `Cannot register plugin "${plugin.name}"` });
    this.#plugins.set(plugin.name, plugin);
    for (const definition of all) {
      (
        this.#defs[definition.type] as Map<
          string,
          { definition: AnyDefinition; origin: RegistrationOrigin }
        >
      ).set(definition.kind, { definition, origin: { plugin: plugin.name } });
    }
    return this;
  }

  /** Names of the registered plugins, in registration order. */
  plugins(): string[] {
    return [...this.#plugins.keys()];
  }

  /** Registered kinds of one type, sorted. */
  kinds(type: keyof Kinds): string[] {
    return [...this.#defs[type].keys()].sort();
  }

  /** The definition of a kind, or `undefined`. */
  get<K extends keyof Kinds>(type: K, kind: string): Kinds[K] | undefined {
    return this.#defs[type].get(kind)?.definition;
  }

  /** The definition of a kind; a `ConfigError` at `path` naming the known kinds when missing. */
  require<K extends keyof Kinds>(
    type: K,
    kind: string,
    path: readonly (string | number)[] = [],
  ): Kinds[K] {
    const found = this.get(type, kind);
    if (found) return found;
    const known = this.kinds(type);
    throw new ConfigError([
      {
        path: [...path, 'kind']
          .map((p) => (typeof p === 'number' ? `[${p}]` : p))
          .join('.')
          .replace(/\.\[/g, '['),
        message: `unknown ${type} kind "${kind}"${known.length ? ` (known: ${known.join(', ')})` : ''}`,
      },
    ]);
  }

  /** Validates a config section against the kind's schema; `ConfigError` with paths under `path`. */
  parse<K extends keyof Kinds>(
    type: K,
    kind: string,
    config: unknown,
    path: readonly (string | number)[] = [],
  ): unknown {
    return parseConfig(this.require(type, kind, path).configSchema, config, path);
  }

  /** Validates the config and creates a connector instance. */
  async createConnector(
    kind: string,
    config: unknown,
    ctx: PluginContext,
    path: readonly (string | number)[] = [],
  ): Promise<ConnectorInstance> {
    const definition = this.require('connector', kind, path);
    return definition.create(parseConfig(definition.configSchema, config, path), ctx);
  }

  /** Validates the config and creates a destination instance. */
  async createDestination(
    kind: string,
    config: unknown,
    ctx: PluginContext,
    path: readonly (string | number)[] = [],
  ): Promise<DestinationInstance> {
    const definition = this.require('destination', kind, path);
    return definition.create(parseConfig(definition.configSchema, config, path), ctx);
  }

  /** Validates the config and compiles a transform step. */
  createTransform(
    kind: string,
    config: unknown,
    ctx: PluginContext,
    path: readonly (string | number)[] = [],
  ): TransformFn {
    const definition = this.require('transform', kind, path);
    return definition.create(parseConfig(definition.configSchema, config, path), ctx);
  }
}
