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
