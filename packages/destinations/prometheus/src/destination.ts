/**
 * The `prometheus` destination: records become gauge, counter and histogram updates on a
 * prom-client registry that the server exposes at `/metrics` (and optionally pushes to a
 * Pushgateway), with bounded cardinality and removal of stale series.
 *
 * @packageDocumentation
 */
import {
  ConfigError,
  FatalError,
  PartialBatchError,
  RetryableError,
  defineDestination,
  formatPath,
  type Batch,
  type CheckResult,
  type DestinationInstance,
  type PluginContext,
  type RecordFailure,
} from '@sluice/core';
import {
  createAddressPolicy,
  createGuardedAgents,
  findBlockedAddressError,
  resolveAllowed,
} from '@sluice/core/net';
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, Histogram, Pushgateway, Registry } from 'prom-client';
import { prometheusConfigSchema, type PrometheusConfig } from './config.js';
import {
  compileMetricReader,
  RecordMappingError,
  deprecatedFieldPaths,
  type MetricReader,
  type MetricUpdate,
} from './metric-mapping.js';
import { SeriesTracker } from './series-tracker.js';

/** Options for embedding that do not belong in (serialisable) config. */
export interface PrometheusDestinationOptions {
  /**
   * The registry to register the metrics on, e.g. the server's. Default: a new registry per
   * destination, available through {@link PrometheusDestinationInstance.getRegistry}.
   */
  registry?: Registry;
}

/** A live Prometheus destination. */
export interface PrometheusDestinationInstance extends DestinationInstance {
  /** The registry holding this destination's metrics: serve it at `/metrics` or merge it. */
  getRegistry(): Registry;
  /** Removes series not updated within `staleAfterMs`; runs on every write and every scrape. */
  sweepStale(): void;
  close(): Promise<void>;
}

type AnyMetric = Gauge<string> | Counter<string> | Histogram<string>;

interface LiveMetric {
  reader: MetricReader;
  metric: AnyMetric;
  tracker: SeriesTracker;
  apply(update: MetricUpdate): void;
}

const DROPPED_NAME = 'sluice_prometheus_series_dropped_total';
/** Batch ids remembered so a retried batch is not counted twice (counters, histograms). */
const REMEMBERED_BATCHES = 1024;

/**
 * Creates a live Prometheus destination from a parsed config.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * const config = parseConfig(prometheusConfigSchema, {
 *   metrics: [{ name: 'ga4_sessions', type: 'gauge', help: 'Sessions', value: 'sessions', labels: { channel: 'channel' } }],
 * });
 * const metrics = createPrometheusDestination(config, createPluginContext());
 * await metrics.write(batch, { signal });
 * const text = await metrics.getRegistry().metrics(); // serve at /metrics
 * ```
 */
export function createPrometheusDestination(
  config: PrometheusConfig,
  ctx: PluginContext,
  options: PrometheusDestinationOptions = {},
): PrometheusDestinationInstance {
  const registry = options.registry ?? new Registry();
  const constLabels = config.constLabels;
  const constNames = Object.keys(constLabels);
  const logger = ctx.logger.child({ destination: 'prometheus' });
  const droppedTotal = ctx.metrics.counter({
    name: 'prometheus_series_dropped_total',
    help: 'Series not created because a metric reached maxSeriesPerMetric',
    labelNames: ['metric'],
  });

  const issues: { path: string; message: string }[] = [];
  config.metrics.forEach((m, index) => {
    for (const name of Object.keys(m.labels)) {
      if (name in constLabels) {
        issues.push({
          path: formatPath(['metrics', index, 'labels', name]),
          message: `label ${name} is also a constLabel`,
        });
      }
    }
    if (m.type === 'histogram' && 'le' in constLabels) {
      issues.push({
        path: formatPath(['constLabels', 'le']),
        message: '"le" is reserved for histogram buckets',
      });
    }
    if (registry.getSingleMetric(m.name)) {
      issues.push({
        path: formatPath(['metrics', index, 'name']),
        message: `a metric named ${m.name} is already registered`,
      });
    }
  });
  if (issues.length > 0) throw new ConfigError(issues);
  for (const deprecated of config.metrics.flatMap((m, index) => deprecatedFieldPaths(m, index))) {
    logger.warn(
      deprecated,
      `${deprecated.field}: the dot path ${JSON.stringify(deprecated.path)} is deprecated; write ${JSON.stringify(deprecated.replacement)}`,
    );
  }

  let dropped = registry.getSingleMetric(DROPPED_NAME) as Counter<'metric'> | undefined;
  dropped ??= new Counter({
    name: DROPPED_NAME,
    help: 'Series not created because a metric reached its cardinality limit (maxSeriesPerMetric)',
    labelNames: ['metric'],
    registers: [registry],
  });
  const droppedCounter = dropped;

  const sweep = (live: LiveMetric) => {
    if (config.staleAfterMs === 0) return;
    for (const labels of live.tracker.sweep(ctx.clock.now(), config.staleAfterMs)) {
      live.metric.remove({ ...labels, ...constLabels });
    }
  };

  const live: LiveMetric[] = config.metrics.map((m, index) => {
    const reader = compileMetricReader(m, index);
    const base = {
      name: m.name,
      help: m.help,
      labelNames: [...reader.labelNames, ...constNames],
      registers: [registry],
      // Scrapes also drop stale series, so they vanish even when no record arrives any more.
      collect: () => sweep(entry),
    };
    let metric: AnyMetric;
    let apply: (update: MetricUpdate) => void;
    if (m.type === 'gauge') {
      const gauge = new Gauge(base);
      metric = gauge;
      apply = (u) => gauge.set({ ...u.labels, ...constLabels }, u.value);
    } else if (m.type === 'counter') {
      const counter = new Counter(base);
      metric = counter;
      apply = (u) => counter.inc({ ...u.labels, ...constLabels }, u.value);
    } else {
      const histogram = new Histogram(m.buckets ? { ...base, buckets: m.buckets } : base);
      metric = histogram;
      apply = (u) => histogram.observe({ ...u.labels, ...constLabels }, u.value);
    }
    const entry: LiveMetric = {
      reader,
      metric,
      tracker: new SeriesTracker(config.maxSeriesPerMetric),
      apply,
    };
    return entry;
  });

  // prom-client opens the push connections with node:http(s); the guarded agent checks every
  // one after DNS resolution against the ssrf policy.
  const policy = createAddressPolicy(config.ssrf);
  const agents = config.pushgateway ? createGuardedAgents(policy) : undefined;
  const pushgateway = config.pushgateway
    ? new Pushgateway(
        config.pushgateway.url,
        { timeout: config.pushgateway.timeoutMs, agent: agents!.for(config.pushgateway.url) },
        registry,
      )
    : undefined;
  const push = async () => {
    if (!pushgateway || !config.pushgateway) return;
    const params = { jobName: config.pushgateway.job, groupings: config.pushgateway.grouping };
    try {
      await (config.pushgateway.method === 'post'
        ? pushgateway.pushAdd(params)
        : pushgateway.push(params));
    } catch (err) {
      throw classifyPushError(err);
    }
  };

  // Records that could not be mapped, per already-applied batch: a retry (same id) re-pushes
  // without re-applying, and still reports the same failures. Least recently used is forgotten
  // first (it was least recently applied): a batch still being retried stays remembered longer.
  const applied = new LRUCache<string, RecordFailure[]>({ max: REMEMBERED_BATCHES });
  const warnedFull = new Set<string>();
  let closed: Promise<void> | undefined;

  const apply = (batch: Batch): RecordFailure[] => {
    const failures: RecordFailure[] = [];
    const now = ctx.clock.now();
    batch.records.forEach((record, index) => {
      let updates: MetricUpdate[];
      try {
        updates = live.map((l) => l.reader.read(record));
      } catch (err) {
        if (!(err instanceof RecordMappingError)) throw err;
        failures.push({
          index,
          error: new FatalError(err.message, { details: { field: err.field } }),
        });
        return;
      }
      updates.forEach((update, i) => {
        const target = live[i]!;
        if (target.tracker.touch(update.labels, now) === 'dropped') {
          droppedCounter.inc({ metric: target.reader.config.name });
          droppedTotal.inc({ metric: target.reader.config.name });
          if (!warnedFull.has(target.reader.config.name)) {
            warnedFull.add(target.reader.config.name);
            logger.warn(
              { metric: target.reader.config.name, limit: config.maxSeriesPerMetric },
              'metric reached maxSeriesPerMetric; new series are dropped',
            );
          }
          return;
        }
        target.apply(update);
      });
    });
    return failures;
  };

  /** Without a Pushgateway nothing leaves the process; with one, its host is resolved through the guard (nothing is pushed). */
  const check = async (): Promise<CheckResult> => {
    if (!config.pushgateway)
      return { ok: true, message: 'no Pushgateway configured: the metrics are served on /metrics' };
    const url = new URL(config.pushgateway.url);
    try {
      const addresses = await resolveAllowed(policy, url.hostname);
      return {
        ok: true,
        message: `the Pushgateway ${url.origin} resolves to allowed address(es) ${addresses.map((a) => a.address).join(', ')}`,
      };
    } catch (err) {
      const blocked = findBlockedAddressError(err);
      if (blocked)
        return {
          ok: false,
          message: blocked.forField('pushgateway.url').message,
          details: { range: blocked.range },
        };
      return {
        ok: false,
        message: `cannot resolve the Pushgateway host ${url.hostname}: ${(err as Error).message}`,
      };
    }
  };

  return {
    check,
    getRegistry: () => registry,
    sweepStale: () => live.forEach(sweep),
    async write(batch) {
      if (closed) throw new FatalError('the prometheus destination is closed');
      live.forEach(sweep);
      let failures = applied.get(batch.id);
      if (failures === undefined) {
        failures = apply(batch);
        applied.set(batch.id, failures);
      }
      await push();
      if (failures.length > 0) throw new PartialBatchError(failures);
    },
    close() {
      closed ??= Promise.resolve().then(() => {
        for (const l of live) registry.removeSingleMetric(l.reader.config.name);
        agents?.destroy();
      });
      return closed;
    },
  };
}

function classifyPushError(err: unknown): Error {
  const blocked = findBlockedAddressError(err);
  if (blocked) return blocked.forField('pushgateway.url');
  const message = err instanceof Error ? err.message : String(err);
  const status = /status (\d{3})/.exec(message);
  const code = status ? Number(status[1]) : undefined;
  const text = `pushing to the Pushgateway failed: ${message.slice(0, 300)}`;
  if (code !== undefined && code >= 400 && code < 500 && code !== 408 && code !== 429) {
    return new FatalError(text, { details: { status: code } });
  }
  return new RetryableError(text, code === undefined ? {} : { details: { status: code } });
}

/**
 * The `prometheus` destination definition.
 *
 * @example
 * ```ts
 * const config = parseConfig(prometheusDestination.configSchema, {
 *   metrics: [{ name: 'orders_total', type: 'counter', help: 'Orders', labels: { shop: 'shop' } }],
 * });
 * const instance = await prometheusDestination.create(config, createPluginContext());
 * ```
 */
export const prometheusDestination = defineDestination({
  kind: 'prometheus',
  version: '0.1.0',
  description: 'Expose records as Prometheus gauges, counters and histograms (scraped or pushed).',
  configSchema: prometheusConfigSchema,
  capabilities: {
    maxBatch: 10_000,
    // Pushes must not overtake each other.
    maxInFlight: 1,
    // A retried batch (same id) is recognised and not applied twice; gauges: the last value wins.
    idempotent: true,
    idempotency: 'batch',
  },
  create: (config, ctx) => createPrometheusDestination(config, ctx),
});
