import { definePlugin } from '@sluice/core';
import { databaseDestination } from './destination.js';

/**
 * The plugin that registers the `database` destination kind.
 *
 * @example
 * ```ts
 * import databasePlugin from '@sluice/destinations-database';
 * new PluginRegistry().register(databasePlugin);
 * ```
 */
export const databasePlugin = definePlugin({
  name: '@sluice/destinations-database',
  version: '0.1.0',
  sluice: '^1',
  destinations: [databaseDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-database"]` in sluice.yaml loads it by package name.
export default databasePlugin;
