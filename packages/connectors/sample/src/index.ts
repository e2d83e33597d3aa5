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
import { samplePlugin } from './plugin.js';

export { samplePlugin } from './plugin.js';
export { sampleConnector } from './connector.js';
export { periodMs, sampleConfigSchema, type SampleConfig } from './config.js';
export { DEFAULT_START_DATE, sampleRecord, type SampleOptions } from './generate.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-sample"]` in sluice.yaml loads it by package name.
export default samplePlugin;
