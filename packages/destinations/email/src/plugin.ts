import { definePlugin } from '@sluice/core';
import { emailDestination } from './destination.js';

/**
 * The plugin bundling the `email` destination, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { emailPlugin } from '@sluice/destinations-email';
 * const registry = new PluginRegistry().register(emailPlugin);
 * ```
 */
export const emailPlugin = definePlugin({
  name: '@sluice/destinations-email',
  version: '0.1.0',
  sluice: '^1',
  destinations: [emailDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-email"]` in sluice.yaml loads it by package name.
export default emailPlugin;
