/**
 * `@sluice/destinations-prometheus`: a Sluice destination that turns records into Prometheus
 * gauges, counters and histograms on a prom-client registry — scraped at `/metrics` or pushed
 * to a Pushgateway — with cardinality limits and removal of stale series.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { prometheusPlugin } from '@sluice/destinations-prometheus';
 * const registry = new PluginRegistry().register(prometheusPlugin);
 * ```
 *
 * @packageDocumentation
 */
import { prometheusPlugin } from './plugin.js';
export { prometheusPlugin } from './plugin.js';
export {
  createPrometheusDestination,
  prometheusDestination,
  type PrometheusDestinationInstance,
  type PrometheusDestinationOptions,
} from './destination.js';
export {
  LABEL_NAME,
  METRIC_NAME,
  prometheusConfigSchema,
  type MetricConfig,
  type PrometheusConfig,
  type PrometheusConfigInput,
} from './config.js';
export {
  RecordMappingError,
  compileMetricReader,
  deprecatedFieldPaths,
  type MetricReader,
  type MetricUpdate,
} from './metric-mapping.js';
export { SeriesTracker, type Admission, type SeriesLabels } from './series-tracker.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-prometheus"]` in sluice.yaml loads it by package name.
export default prometheusPlugin;
