/**
 * The Prometheus destination's config schema (valibot).
 *
 * @packageDocumentation
 */
import { fieldPathSchema } from '@sluice/core';
import { ssrfOption } from '@sluice/core/net';
import * as v from 'valibot';

/** Prometheus metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`, and `__` is reserved. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A record field, in core's one field-path syntax (`sessions`, `$.totals.revenue`,
 * `$.items[0].price`). The dot paths this mapping took before (`totals.revenue`,
 * `items.0.price`) are still read as nested fields, deprecated: the destination logs the
 * spelling to write instead.
 */
const fieldPath = fieldPathSchema({ dotPaths: true });

const labelName = v.pipe(
  v.string(),
  v.regex(LABEL_NAME, 'is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)'),
  v.check(
    (name) => !name.startsWith('__'),
    'label names starting with "__" are reserved by Prometheus',
  ),
);

const common = {
  name: v.pipe(
    v.string(),
    v.regex(METRIC_NAME, 'is not a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)'),
    v.description('Metric name, unique in this destination (`[a-zA-Z_:][a-zA-Z0-9_:]*`).'),
    v.metadata({ examples: ['ga4_sessions'] }),
  ),
  help: v.pipe(
    v.string(),
    v.minLength(1, 'describe the metric (Prometheus HELP text)'),
    v.description('What the metric measures (the Prometheus HELP text).'),
  ),
  /** Label name → field path of its value in the record. */
  labels: v.optional(
    v.pipe(
      v.record(labelName, fieldPath),
      v.description(
        'Labels of each series: label name → the record field holding its value (a name or a singular JSONPath such as `$.utm.source`). Every combination is one series.',
      ),
      v.metadata({ examples: [{ channel: 'channel' }] }),
    ),
    {},
  ),
};

const METRIC_TYPE =
  'Metric type: `gauge` (set to the value), `counter` (add the value, or 1 per record) or `histogram` (observe the value).';
const VALUE =
  'The record field holding the number: a name or a singular JSONPath, e.g. `sessions` or `$.totals.revenue` (the dot form `totals.revenue` is deprecated).';

const gauge = v.strictObject({
  ...common,
  type: v.pipe(v.literal('gauge'), v.description(METRIC_TYPE)),
  value: v.pipe(fieldPath, v.description(VALUE)),
});
const counter = v.strictObject({
  ...common,
  type: v.pipe(v.literal('counter'), v.description(METRIC_TYPE)),
  /** Amount to add per record; omitted = count records (add 1). */
  value: v.optional(
    v.pipe(
      fieldPath,
      v.description(
        'The record field holding the amount to add (a name or a singular JSONPath). Absent: count records (add 1 each).',
      ),
    ),
  ),
});
const histogram = v.strictObject({
  ...common,
  type: v.pipe(v.literal('histogram'), v.description(METRIC_TYPE)),
  value: v.pipe(fieldPath, v.description(VALUE)),
  buckets: v.optional(
    v.pipe(
      v.array(v.pipe(v.number(), v.finite())),
      v.minLength(1),
      v.check(
        (list) => list.every((b, i) => i === 0 || b > list[i - 1]!),
        'buckets must be strictly increasing',
      ),
      v.description(
        "Upper bounds of the histogram buckets, strictly increasing. Absent: Prometheus's default buckets.",
      ),
      v.metadata({ examples: [[0.1, 0.25, 0.5, 1]] }),
    ),
  ),
});

const metric = v.pipe(
  v.variant('type', [gauge, counter, histogram], 'type must be one of gauge, counter, histogram'),
  v.forward(
    v.check(
      (m) => !(m.type === 'histogram' && 'le' in m.labels),
      '"le" is reserved for histogram buckets',
    ),
    ['labels'],
  ),
);

/**
 * Config of the `prometheus` destination.
 *
 * @example
 * ```ts
 * const config = v.parse(prometheusConfigSchema, {
 *   metrics: [{ name: 'ga4_sessions', type: 'gauge', help: 'Sessions by channel', value: 'sessions', labels: { channel: 'channel' } }],
 * });
 * ```
 */
export const prometheusConfigSchema = v.pipe(
  v.strictObject({
    metrics: v.pipe(
      v.array(metric),
      v.minLength(1, 'configure at least one metric'),
      v.description(
        "The metrics each record updates, served at the server's `/metrics`: `{ name, type, help, value?, labels?, buckets? }`.",
      ),
    ),
    /** Most series (label combinations) kept per metric; new series beyond it are dropped and counted. */
    maxSeriesPerMetric: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.maxValue(1_000_000),
        v.description(
          'Most series (label combinations) kept per metric; records for further series are dropped and counted.',
        ),
      ),
      10_000,
    ),
    /** Series not updated for this long are removed (0 = keep forever). */
    staleAfterMs: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(0),
        v.description(
          'Series not updated for this many milliseconds are removed; `0` keeps them forever.',
        ),
      ),
      3_600_000,
    ),
    /** Labels added to every series (e.g. `{ env: prod }`). */
    constLabels: v.optional(
      v.pipe(
        v.record(labelName, v.string()),
        v.description('Labels with fixed values added to every series.'),
        v.metadata({ examples: [{ env: 'prod' }] }),
      ),
      {},
    ),
    /** Push the registry to a Prometheus Pushgateway after every write. */
    pushgateway: v.optional(
      v.pipe(
        v.strictObject({
          url: v.pipe(
            v.string(),
            v.url('must be an absolute URL'),
            v.description('Base URL of the Pushgateway (http or https).'),
            v.metadata({ examples: ['http://pushgateway:9091'] }),
            v.regex(/^https?:/i, 'must be http(s)'),
          ),
          job: v.pipe(
            v.string(),
            v.minLength(1),
            v.description('The `job` label of the pushed group.'),
            v.metadata({ examples: ['ga4-daily'] }),
          ),
          /** Extra grouping key labels of the pushed group. */
          grouping: v.optional(
            v.pipe(
              v.record(labelName, v.string()),
              v.description('Further grouping-key labels of the pushed group.'),
              v.metadata({ examples: [{ instance: 'sluice-1' }] }),
            ),
            {},
          ),
          /** `put` replaces the whole group (default), `post` replaces only the pushed metric names. */
          method: v.optional(
            v.pipe(
              v.picklist(['put', 'post']),
              v.description(
                '`put` replaces the whole group; `post` replaces only the metrics pushed.',
              ),
            ),
            'put',
          ),
          timeoutMs: v.optional(
            v.pipe(
              v.number(),
              v.integer(),
              v.minValue(1),
              v.description('Timeout of one push, in milliseconds.'),
            ),
            10_000,
          ),
        }),
        v.description(
          'Also push the metrics to a Prometheus Pushgateway after every write (for short-lived or firewalled servers).',
        ),
      ),
    ),
    /** Outgoing-connection guard for `pushgateway.url`: internal addresses are refused unless allowed. */
    ssrf: ssrfOption,
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Set<string>();
    dataset.value.metrics.forEach((m, index) => {
      if (seen.has(m.name)) {
        addIssue({
          message: `metric ${m.name} is configured twice`,
          path: [
            {
              type: 'object',
              origin: 'value',
              input: dataset.value,
              key: 'metrics',
              value: dataset.value.metrics,
            },
            { type: 'array', origin: 'value', input: dataset.value.metrics, key: index, value: m },
            { type: 'object', origin: 'value', input: m, key: 'name', value: m.name },
          ],
        });
      }
      seen.add(m.name);
    });
  }),
);

/** Raw (input) config of the Prometheus destination. */
export type PrometheusConfigInput = v.InferInput<typeof prometheusConfigSchema>;

/** Parsed config of the Prometheus destination, with defaults filled in. */
export type PrometheusConfig = v.InferOutput<typeof prometheusConfigSchema>;

/** One metric of {@link PrometheusConfig}. */
export type MetricConfig = PrometheusConfig['metrics'][number];
