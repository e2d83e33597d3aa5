/**
 * `@sluice/connectors-bigquery`: a Sluice connector that reads the result of a BigQuery SQL
 * query page by page, converts every BigQuery type to JSON without losing precision and reads
 * incrementally by a cursor column.
 *
 * @example
 * ```ts
 * import { definePlugin } from '@sluice/core';
 * import { bigQueryConnector } from '@sluice/connectors-bigquery';
 * export default definePlugin({ name: 'my-sluice', sluice: '^1', connectors: [bigQueryConnector] });
 * ```
 *
 * @packageDocumentation
 */
import { bigQueryPlugin } from './plugin.js';

export { bigQueryConnector, bigQueryPlugin } from './plugin.js';

export {
  createBigQueryConnector,
  createBigQueryInstance,
  ON_DEMAND_USD_PER_TIB,
} from './connector.js';
export {
  bigQueryConfigSchema,
  googleCredentialsSchema,
  CURSOR_TYPES,
  type BigQueryConfig,
  type CursorType,
  type GoogleCredentials,
} from './config.js';
export { convertRows, timestampToIso, type BigQueryField, type ValueLocation } from './convert.js';
export { compareCursor, type BigQueryState } from './cursor.js';
export { mapBigQueryError, QUOTA_RETRY_MS } from './errors.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/connectors-bigquery"]` in sluice.yaml loads it by package name.
export default bigQueryPlugin;
