/**
 * `@sluice/connectors-hubspot`: reads HubSpot CRM objects (contacts, companies, deals,
 * tickets, custom objects) with the official `@hubspot/api-client` — a full read through the
 * list API, then incremental reads through search on the modification date, with rate
 * limiting shared by every pipeline that uses the same token.
 *
 * @example
 * ```ts
 * import { hubspotPlugin } from '@sluice/connectors-hubspot';
 * registry.register(hubspotPlugin);
 * ```
 *
 * @packageDocumentation
 */
import { hubspotPlugin } from './plugin.js';

export { hubspotConnector, hubspotPlugin } from './plugin.js';

export { createHubSpotConnector, modifiedPropertyOf } from './connector.js';
export { hubspotConfigSchema, type HubSpotConfig } from './config.js';
export type { FullState, HubSpotState, IncrementalState } from './state.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-hubspot"]` in sluice.yaml loads it by package name.
export default hubspotPlugin;
