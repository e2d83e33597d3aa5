import { definePlugin } from '@sluice/core';
import { s3Destination } from './destination.js';

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
