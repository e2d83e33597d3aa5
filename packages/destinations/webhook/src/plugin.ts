import { definePlugin } from '@sluice/core';
import { webhookDestination } from './destination.js';

/**
 * The plugin bundling the `webhook` destination, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { webhookPlugin } from '@sluice/destinations-webhook';
 * const registry = new PluginRegistry().register(webhookPlugin);
 * ```
 */
export const webhookPlugin = definePlugin({
  name: '@sluice/destinations-webhook',
  version: '0.1.0',
  sluice: '^1',
  destinations: [webhookDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-webhook"]` in sluice.yaml loads it by package name.
export default webhookPlugin;
