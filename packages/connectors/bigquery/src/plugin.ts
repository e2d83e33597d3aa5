// The `bigquery` connector's definition (kind, config schema, rereads) and the plugin, without
// importing the implementation: `create` imports ./connector.js, and with it the BigQuery SDK
// (`@google-cloud/bigquery`), when the first instance is made, so a server whose configuration has
// no `bigquery` connector never loads it (issues 19 and 20). `@sluice/connectors-bigquery/plugin`
// is this module alone; the package's index re-exports it beside the implementation.
import { defineConnector, definePlugin } from '@sluice/core';
import { bigQueryConfigSchema } from './config.js';

/**
 * Reads the result of a BigQuery SQL query page by page (`maxResults` + page tokens), converting
 * every BigQuery type to JSON without precision loss. With `cursor`, reads are incremental: the
 * query binds the last checkpoint to `@cursor` and each page commits the highest cursor value up
 * to which every row was delivered.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * const config = parseConfig(bigQueryConnector.configSchema, {
 *   projectId: 'acme-analytics',
 *   query: 'SELECT * FROM shop.orders WHERE updated_at > @cursor ORDER BY updated_at',
 *   cursor: { column: 'updated_at', type: 'TIMESTAMP' },
 * });
 * const connector = await bigQueryConnector.create(config, createPluginContext());
 * for await (const page of connector.read({}, AbortSignal.timeout(60_000))) console.log(page.records.length, page.state);
 * ```
 */
export const bigQueryConnector = defineConnector({
  kind: 'bigquery',
  version: '0.1.0',
  // A resumed query starts at the checkpoint's cursor value and re-reads the rows tied at it
  // (tie-safe), so its pages are not the first read's pages (the contract suite shows it).
  rereads: 'may-differ',
  description: 'Reads the result of a BigQuery SQL query, incrementally by a cursor column.',
  configSchema: bigQueryConfigSchema,
  // The implementation and its SDK are imported with the first instance (see above).
  create: async (config, ctx) => {
    const { createBigQueryConnector } = await import('./connector.js');
    return createBigQueryConnector(config, ctx);
  },
});

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
