/**
 * `@sluice/connectors-sample`: deterministic sample marketing data for demos, the quick start
 * and tests — no external service needed.
 *
 * @example
 * ```ts
 * import { samplePlugin } from '@sluice/connectors-sample';
 * registry.register(samplePlugin);
 * ```
 *
 * @packageDocumentation
 */
import { definePlugin } from '@sluice/core';
import { sampleConnector } from './connector.js';

export { periodMs, sampleConnector, sampleConfigSchema, type SampleConfig } from './connector.js';

/** The plugin holding {@link sampleConnector}, ready for `registry.register(samplePlugin)`. */
export const samplePlugin = definePlugin({ name: '@sluice/connectors-sample', version: '0.1.0', sluice: '^1', connectors: [sampleConnector] });
export { DEFAULT_START_DATE, sampleRecord, type SampleOptions } from './generate.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-sample"]` in sluice.yaml loads it by package name.
export default samplePlugin;
