// The `hubspot` connector's definition (kind, config schema, rereads) and the plugin, without
// importing the implementation: `create` imports ./connector.js, and with it the HubSpot client
// (`@hubspot/api-client`), when the first instance is made, so a server whose configuration has no
// `hubspot` connector never loads it (issues 19 and 20). `@sluice/connectors-hubspot/plugin` is
// this module alone; the package's index re-exports it beside the implementation.
import { defineConnector, definePlugin } from '@sluice/core';
import { hubspotConfigSchema } from './config.js';

/**
 * The `hubspot` connector kind.
 *
 * @example
 * ```ts
 * import { PluginRegistry, definePlugin, createPluginContext } from '@sluice/core';
 * const registry = new PluginRegistry().register(
 *   definePlugin({ name: '@sluice/connectors-hubspot', sluice: '^1', connectors: [hubspotConnector] }),
 * );
 * const source = await registry.createConnector(
 *   'hubspot',
 *   { accessToken: token, object: 'deals', properties: ['dealname', 'amount'] },
 *   createPluginContext(),
 * );
 * ```
 */
export const hubspotConnector = defineConnector({
  kind: 'hubspot',
  version: '0.1.0',
  // A keyset over hs_lastmodifieddate: records move to the end as they are updated.
  rereads: 'may-differ',
  description:
    'Reads HubSpot CRM objects (contacts, companies, deals, tickets, custom objects): full, then incremental.',
  configSchema: hubspotConfigSchema,
  // The implementation and its SDK are imported with the first instance (see above).
  create: async (config, ctx) => {
    const { createHubSpotConnector } = await import('./connector.js');
    return createHubSpotConnector(config, ctx);
  },
});

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
