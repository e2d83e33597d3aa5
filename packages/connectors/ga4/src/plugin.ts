import { definePlugin } from '@sluice/core';
import { ga4Connector } from './connector.js';

/**
 * The plugin bundling the GA4 connector, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * registry.register(ga4Plugin);
 * ```
 */
export const ga4Plugin = definePlugin({
  name: '@sluice/connectors-ga4',
  version: '0.1.0',
  sluice: '^1',
  connectors: [ga4Connector],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-ga4"]` in sluice.yaml loads it by package name.
export default ga4Plugin;
