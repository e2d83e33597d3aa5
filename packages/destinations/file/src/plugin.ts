import { definePlugin } from '@sluice/core';
import { fileDestination } from './destination.js';

/**
 * The plugin that registers the `file` destination kind.
 *
 * @example
 * ```ts
 * import filePlugin from '@sluice/destinations-file';
 * registry.register(filePlugin);
 * ```
 */
export const filePlugin = definePlugin({
  name: '@sluice/destinations-file',
  version: '0.1.0',
  sluice: '^1',
  destinations: [fileDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-file"]` in sluice.yaml loads it by package name.
export default filePlugin;
