// The `s3` destination's definition (kind, config schema, capabilities) and the plugin, without
// importing the implementation: `create` imports ./destination.js, and with it the AWS SDK
// (`@aws-sdk/client-s3`, `@aws-sdk/lib-storage`), when the first instance is made, so a server
// whose configuration has no `s3` destination never loads it (issues 19 and 20).
// `@sluice/destinations-s3/plugin` is this module alone; the package's index re-exports it beside
// the implementation.
import { defineDestination, definePlugin } from '@sluice/core';
import { s3ConfigSchema } from './config.js';

/**
 * The `s3` destination kind.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * const config = parseConfig(s3Destination.configSchema, { bucket: 'exports', partitionBy: ['channel'], format: 'csv', gzip: true });
 * const s3 = await s3Destination.create(config, createPluginContext());
 * ```
 */
export const s3Destination = defineDestination({
  kind: 's3',
  version: '0.1.0',
  description:
    'Writes records to Amazon S3 or S3-compatible stores as NDJSON, JSON or CSV objects, with Hive partitions and deterministic keys.',
  configSchema: s3ConfigSchema,
  // Object keys contain the batch id (required by the config): a repeat overwrites its own objects.
  capabilities: (config) => ({
    idempotent: true,
    idempotency: 'batch',
    maxInFlight: config.maxInFlight,
    maxBatch: config.maxBatch,
    // One object per batch: 10 000 records rather than twenty objects of 500 (not maxBatch's
    // 100 000: the router buffers up to (maxInFlight + 1) batches).
    preferredBatch: { maxRecords: Math.min(config.maxBatch, 10_000) },
  }),
  // The implementation and its SDK are imported with the first instance (see above).
  create: async (config, ctx) => {
    const { createS3Destination } = await import('./destination.js');
    return createS3Destination(config, ctx);
  },
});

/**
 * The plugin bundling the `s3` destination, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { s3Plugin } from '@sluice/destinations-s3';
 * const registry = new PluginRegistry().register(s3Plugin);
 * ```
 */
export const s3Plugin = definePlugin({
  name: '@sluice/destinations-s3',
  version: '0.1.0',
  sluice: '^1',
  destinations: [s3Destination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-s3"]` in sluice.yaml loads it by package name.
export default s3Plugin;
