import { definePlugin } from '@sluice/core';
import { slackDestination } from './destination.js';

/**
 * The plugin bundling the `slack` destination, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { slackPlugin } from '@sluice/destinations-slack';
 * const registry = new PluginRegistry().register(slackPlugin);
 * ```
 */
export const slackPlugin = definePlugin({
  name: '@sluice/destinations-slack',
  version: '0.1.0',
  sluice: '^1',
  destinations: [slackDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-slack"]` in sluice.yaml loads it by package name.
export default slackPlugin;
