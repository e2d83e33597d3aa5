/**
 * `sluice-plugin-http-json`: a third-party Sluice plugin with one connector, `http-json`,
 * that reads any paginated HTTP JSON API. Sluice loads it by package name; its default export
 * is the plugin.
 *
 * @example
 * ```ts
 * import httpJsonPlugin from 'sluice-plugin-http-json';
 * registry.register(httpJsonPlugin);
 * ```
 *
 * @packageDocumentation
 */
import { definePlugin } from '@sluice/core';
import { httpJsonConnector } from './connector.js';

export { createHttpJsonConnector, httpJsonConnector } from './connector.js';
export { httpJsonConfigSchema, type HttpJsonConfig } from './config.js';

/**
 * The plugin: register it in a `PluginRegistry`, or list the package under `plugins:` in the
 * server config.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import httpJsonPlugin from 'sluice-plugin-http-json';
 * const registry = new PluginRegistry().register(httpJsonPlugin);
 * ```
 */
const httpJsonPlugin = definePlugin({
  name: 'sluice-plugin-http-json',
  version: '0.1.0',
  sluice: '^1',
  connectors: [httpJsonConnector],
});
export default httpJsonPlugin;
