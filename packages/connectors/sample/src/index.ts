/**
 * `@sluice/connectors-sample`: deterministic sample marketing data for demos, the quick start
 * and tests — no external service needed.
 *
 * @example
 * ```ts
 * import { sampleConnector } from '@sluice/connectors-sample';
 * registry.register(definePlugin({ name: 'sample', sluice: '^1', connectors: [sampleConnector] }));
 * ```
 *
 * @packageDocumentation
 */
export { sampleConnector, sampleConfigSchema, type SampleConfig } from './connector.js';
export { sampleRecord, type SampleOptions } from './generate.js';
