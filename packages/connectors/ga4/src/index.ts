/**
 * `@sluice/connectors-ga4`: a Sluice connector that reads Google Analytics 4 reports through the
 * Data API — offset/limit paging, metric values cast by type, incremental by date with a
 * re-fetch window for days GA4 still processes, and property-quota back-off.
 *
 * @example
 * ```ts
 * import { definePlugin } from '@sluice/core';
 * import { ga4Connector } from '@sluice/connectors-ga4';
 * export default definePlugin({ name: 'my-sluice', sluice: '^1', connectors: [ga4Connector] });
 * ```
 *
 * @packageDocumentation
 */
import { ga4Plugin } from './plugin.js';

export { ga4Connector, ga4Plugin } from './plugin.js';

export { createGa4Connector, createGa4Instance, type Ga4State } from './connector.js';
export { ga4ConfigSchema, ga4CredentialsSchema, type Ga4Config } from './config.js';
export { convertReportRows, type ReportResponse, type PageLocation } from './convert.js';
export { createPreviousDayComparer } from './compare.js';
export { filterIssues, type Filter, type FilterExpression, type NumericValue } from './filter.js';
export { addDays, isGa4Date, resolveGa4Date, todayIn } from './dates.js';
export { mapGa4Error, CONCURRENCY_RETRY_MS } from './errors.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-ga4"]` in sluice.yaml loads it by package name.
export default ga4Plugin;
