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
