/**
 * The Prometheus destination's config schema (valibot).
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { fieldPathProblem } from './field-path.js';

/** Prometheus metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`, and `__` is reserved. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const fieldPath = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = fieldPathProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

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
  ),
  help: v.pipe(v.string(), v.minLength(1, 'describe the metric (Prometheus HELP text)')),
  /** Label name → field path of its value in the record. */
  labels: v.optional(v.record(labelName, fieldPath), {}),
};

const gauge = v.strictObject({ ...common, type: v.literal('gauge'), value: fieldPath });
const counter = v.strictObject({
  ...common,
  type: v.literal('counter'),
  /** Amount to add per record; omitted = count records (add 1). */
  value: v.optional(fieldPath),
});
const histogram = v.strictObject({
  ...common,
  type: v.literal('histogram'),
  value: fieldPath,
  buckets: v.optional(
    v.pipe(
      v.array(v.pipe(v.number(), v.finite())),
      v.minLength(1),
      v.check(
        (list) => list.every((b, i) => i === 0 || b > list[i - 1]!),
        'buckets must be strictly increasing',
      ),
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
    metrics: v.pipe(v.array(metric), v.minLength(1, 'configure at least one metric')),
    /** Most series (label combinations) kept per metric; new series beyond it are dropped and counted. */
    maxSeriesPerMetric: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)),
      10_000,
    ),
    /** Series not updated for this long are removed (0 = keep forever). */
    staleAfterMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 3_600_000),
    /** Labels added to every series (e.g. `{ env: prod }`). */
    constLabels: v.optional(v.record(labelName, v.string()), {}),
    /** Push the registry to a Prometheus Pushgateway after every write. */
    pushgateway: v.optional(
      v.strictObject({
        url: v.pipe(
          v.string(),
          v.url('must be an absolute URL'),
          v.regex(/^https?:/i, 'must be http(s)'),
        ),
        job: v.pipe(v.string(), v.minLength(1)),
        /** Extra grouping key labels of the pushed group. */
        grouping: v.optional(v.record(labelName, v.string()), {}),
        /** `put` replaces the whole group (default), `post` replaces only the pushed metric names. */
        method: v.optional(v.picklist(['put', 'post']), 'put'),
        timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 10_000),
      }),
    ),
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
