import { loadPluginEntries } from '@sluice/config';
import { ConfigError, PluginRegistry, formatPath, type PluginDefinition } from '@sluice/core';
import { routerPlugin } from '@sluice/router';
import { bigQueryPlugin } from '@sluice/connectors-bigquery/plugin';
import { ga4Plugin } from '@sluice/connectors-ga4/plugin';
import { hubspotPlugin } from '@sluice/connectors-hubspot/plugin';
import { samplePlugin } from '@sluice/connectors-sample';
import { databasePlugin } from '@sluice/destinations-database';
import { filePlugin } from '@sluice/destinations-file';
import { webhookPlugin } from '@sluice/destinations-webhook/plugin';
import { prometheusPlugin } from '@sluice/destinations-prometheus';
import { emailPlugin } from '@sluice/destinations-email/plugin';
import { s3Plugin } from '@sluice/destinations-s3/plugin';
import { slackPlugin } from '@sluice/destinations-slack/plugin';

/**
 * The plugins every server has: the router's transforms, every first-party connector and
 * destination. The plugins with a heavy SDK come from their packages' `/plugin` entries: the
 * definitions (kinds, config schemas, capabilities) without the implementations, which each
 * kind's `create` imports when a configuration first makes an instance of it — so a server
 * loads only the SDKs its configuration uses (issues 19 and 20).
 */
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

/**
 * Loads third-party plugins — npm package names or module paths (`./local-plugin/dist/index.js`),
 * resolved from `baseDir` (the config file's folder) as Node resolves an import there — and
 * registers them; `@sluice/config`'s `loadPluginEntries`, which the validation pipeline runs.
 * A plugin module's default export (or its `plugin` export) must be the result of
 * `definePlugin(...)`. Throws one `ConfigError` naming every failing `plugins[i]`.
 *
 * @example
 * ```ts
 * const registry = createRegistry();
 * await loadPlugins(registry, ['sluice-plugin-http-json', './local-plugin/dist/index.js'], '/etc/sluice');
 * ```
 */
export async function loadPlugins(
  registry: PluginRegistry,
  names: readonly string[],
  baseDir: string,
): Promise<void> {
  const problems = await loadPluginEntries(registry, names, baseDir);
  if (problems.length > 0)
    throw new ConfigError(problems.map((p) => ({ path: formatPath(p.path), message: p.message })));
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
