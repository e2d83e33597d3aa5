import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, PluginRegistry, type PluginDefinition } from '@sluice/core';
import { routerPlugin } from '@sluice/router';
import { bigQueryPlugin } from '@sluice/connectors-bigquery';
import { ga4Plugin } from '@sluice/connectors-ga4';
import { hubspotPlugin } from '@sluice/connectors-hubspot';
import { samplePlugin } from '@sluice/connectors-sample';
import { databasePlugin } from '@sluice/destinations-database';
import { filePlugin } from '@sluice/destinations-file';
import { webhookPlugin } from '@sluice/destinations-webhook';
import { prometheusPlugin } from '@sluice/destinations-prometheus';
import { emailPlugin } from '@sluice/destinations-email';
import { s3Plugin } from '@sluice/destinations-s3';
import { slackPlugin } from '@sluice/destinations-slack';

/** The plugins every server has: the router's transforms, every first-party connector and destination. */
export function builtinPlugins(): PluginDefinition[] {
  return [
    routerPlugin,
    bigQueryPlugin,
    ga4Plugin,
    hubspotPlugin,
    samplePlugin,
    databasePlugin,
    filePlugin,
    webhookPlugin,
    prometheusPlugin,
    emailPlugin,
    s3Plugin,
    slackPlugin,
  ];
}

function isPlugin(value: unknown): value is PluginDefinition {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'plugin';
}

/**
 * Loads third-party plugins by npm package name (resolved from `baseDir`, usually the config
 * file's folder, then the working directory) and registers them. A plugin package's default
 * export (or its `plugin` export) must be the result of `definePlugin(...)`. Errors are
 * `ConfigError`s naming `plugins[i]`.
 *
 * @example
 * ```ts
 * const registry = createRegistry();
 * await loadPlugins(registry, ['sluice-plugin-http-json'], process.cwd());
 * ```
 */
export async function loadPlugins(registry: PluginRegistry, names: readonly string[], baseDir: string): Promise<void> {
  for (const [index, name] of names.entries()) {
    const path = `plugins[${index}]`;
    let resolved: string;
    try {
      resolved = resolvePlugin(name, baseDir);
    } catch {
      throw new ConfigError([{ path, message: `cannot find plugin package "${name}" (install it next to sluice.yaml or in the working directory)` }]);
    }
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError([{ path, message: `plugin "${name}" failed to load: ${(error as Error).message}` }]);
    }
    const plugin = [module.default, module.plugin].find(isPlugin);
    if (!plugin) {
      throw new ConfigError([{ path, message: `plugin "${name}" must export definePlugin(...) as its default export` }]);
    }
    registry.register(plugin);
  }
}

/** The entry file of an installed ESM package, found by walking up from `dir` (no CommonJS `require`). */
function resolveFrom(name: string, dir: string): string | undefined {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const pkgDir = join(current, 'node_modules', name);
    const manifest = join(pkgDir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown; main?: string; module?: string };
      const entry = exportEntry(pkg.exports) ?? pkg.module ?? pkg.main ?? 'index.js';
      return join(pkgDir, entry);
    }
    if (dirname(current) === current) return undefined;
  }
}

function exportEntry(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (typeof exports !== 'object' || exports === null) return undefined;
  const record = exports as Record<string, unknown>;
  const root = '.' in record ? record['.'] : record;
  if (typeof root === 'string') return root;
  if (typeof root !== 'object' || root === null) return undefined;
  for (const condition of ['import', 'node', 'default']) {
    const target = exportEntry((root as Record<string, unknown>)[condition]);
    if (target) return target;
  }
  return undefined;
}

function resolvePlugin(name: string, baseDir: string): string {
  const found = resolveFrom(name, baseDir) ?? resolveFrom(name, process.cwd());
  if (!found) throw new Error(`not found: ${name}`);
  return found;
}

/**
 * A registry holding the built-in plugins.
 *
 * @example
 * ```ts
 * createRegistry().kinds('destination'); // ['database', 'email', 'file', ...]
 * ```
 */
export function createRegistry(): PluginRegistry {
  const registry = new PluginRegistry();
  for (const plugin of builtinPlugins()) registry.register(plugin);
  return registry;
}
