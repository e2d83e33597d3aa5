import { definePlugin } from '@sluice/core';
import { sampleConnector } from './connector.js';

/** The plugin holding {@link sampleConnector}, ready for `registry.register(samplePlugin)`. */
export const samplePlugin = definePlugin({
  name: '@sluice/connectors-sample',
  version: '0.1.0',
  sluice: '^1',
  connectors: [sampleConnector],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-sample"]` in sluice.yaml loads it by package name.
export default samplePlugin;
