import { definePlugin } from '@sluice/core';
import { hubspotConnector } from './connector.js';

/**
 * The plugin bundling the `hubspot` connector, ready for a `PluginRegistry`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { hubspotPlugin } from '@sluice/connectors-hubspot';
 * const registry = new PluginRegistry().register(hubspotPlugin);
 * ```
 */
export const hubspotPlugin = definePlugin({
  name: '@sluice/connectors-hubspot',
  version: '0.1.0',
  sluice: '^1',
  connectors: [hubspotConnector],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-hubspot"]` in sluice.yaml loads it by package name.
export default hubspotPlugin;
