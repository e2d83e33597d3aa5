import { definePlugin } from '@sluice/core';
import { bigQueryConnector } from './connector.js';

/**
 * The plugin bundling the BigQuery connector, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * registry.register(bigQueryPlugin);
 * ```
 */
export const bigQueryPlugin = definePlugin({
  name: '@sluice/connectors-bigquery',
  version: '0.1.0',
  sluice: '^1',
  connectors: [bigQueryConnector],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-bigquery"]` in sluice.yaml loads it by package name.
export default bigQueryPlugin;
