import { definePlugin } from '@sluice/core';
import { prometheusDestination } from './destination.js';

/**
 * The plugin bundling the `prometheus` destination, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { prometheusPlugin } from '@sluice/destinations-prometheus';
 * const registry = new PluginRegistry().register(prometheusPlugin);
 * ```
 */
export const prometheusPlugin = definePlugin({
  name: '@sluice/destinations-prometheus',
  version: '0.1.0',
  sluice: '^1',
  destinations: [prometheusDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-prometheus"]` in sluice.yaml loads it by package name.
export default prometheusPlugin;
