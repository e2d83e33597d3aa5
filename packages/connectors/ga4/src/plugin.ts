// The `ga4` connector's definition (kind, config schema, rereads) and the plugin, without importing
// the implementation: `create` imports ./connector.js, and with it the GA4 Data API client
// (`@google-analytics/data`, google-gax, gRPC), when the first instance is made, so a server whose
// configuration has no `ga4` connector never loads it (issues 19 and 20).
// `@sluice/connectors-ga4/plugin` is this module alone; the package's index re-exports it beside
// the implementation.
import { defineConnector, definePlugin } from '@sluice/core';
import { ga4ConfigSchema } from './config.js';

/**
 * Reads a GA4 report (dimensions × metrics over a date range) with `runReport`, paging with
 * offset/limit over `rowCount`. Incremental by date: the state is the last final date, and each
 * run re-reads from min(last final + 1, today − restateDays), so recent days are pulled again
 * until GA4 stops changing them; records carry `_final: false` while inside that window.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * const config = parseConfig(ga4Connector.configSchema, {
 *   propertyId: '123456',
 *   dimensions: ['date', 'sessionDefaultChannelGroup'],
 *   metrics: ['sessions'],
 *   dateRange: { startDate: '7daysAgo', endDate: 'yesterday' },
 * });
 * const connector = await ga4Connector.create(config, createPluginContext());
 * for await (const page of connector.read({}, AbortSignal.timeout(60_000))) console.log(page.records, page.state);
 * ```
 */
export const ga4Connector = defineConnector({
  kind: 'ga4',
  version: '0.1.0',
  // Reports inside the restatement window change until GA4 finalises them.
  rereads: 'may-differ',
  description: 'Reads Google Analytics 4 reports, re-reading recent days until they are final.',
  configSchema: ga4ConfigSchema,
  // The implementation and its SDK are imported with the first instance (see above).
  create: async (config, ctx) => {
    const { createGa4Connector } = await import('./connector.js');
    return createGa4Connector(config, ctx);
  },
});

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
