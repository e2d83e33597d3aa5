import client, { Registry } from 'prom-client';
import type { Counter, Gauge, Histogram, MetricOptions, Metrics } from '@sluice/core';

const PREFIX = 'sluice_';

/**
 * Backs core's {@link Metrics} interface with prom-client on one registry, so every plugin's and
 * every engine part's metrics show up at `/metrics`. Names get the `sluice_` prefix when they do
 * not have it; asking twice for a name returns the same metric; label names are fixed by the
 * first declaration.
 *
 * @example
 * ```ts
 * const { registry, metrics } = createPromMetrics();
 * metrics.counter({ name: 'pages_total', help: 'Pages read', labelNames: ['pipeline'] }).inc({ pipeline: 'daily' });
 * await registry.metrics(); // "# HELP sluice_pages_total Pages read ..."
 * ```
 */
export function createPromMetrics(
  options: { registry?: Registry; defaultMetrics?: boolean } = {},
): {
  registry: Registry;
  metrics: Metrics;
} {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) {
    client.collectDefaultMetrics({ register: registry, prefix: PREFIX });
    // prom-client's nodejs_active_{handles,requests,resources}_total are gauges, and `_total` is
    // reserved for counters (promtool: "non-counter metrics should not have _total suffix"). The
    // per-type gauges nodejs_active_handles etc. stay; their sum is the total.
    for (const kind of ['handles', 'requests', 'resources'])
      registry.removeSingleMetric(`${PREFIX}nodejs_active_${kind}_total`);
  }
  const made = new Map<string, unknown>();
  const name = (n: string) => (n.startsWith(PREFIX) ? n : PREFIX + n);
  function once<T>(key: string, make: () => T): T {
    if (!made.has(key)) made.set(key, make());
    return made.get(key) as T;
  }
  const metrics: Metrics = {
    counter: (o: MetricOptions): Counter => {
      const c = once(
        name(o.name),
        () =>
          new client.Counter({
            name: name(o.name),
            help: o.help,
            labelNames: [...(o.labelNames ?? [])],
            registers: [registry],
          }),
      );
      return { inc: (labels = {}, value = 1) => c.inc(labels, value) };
    },
    gauge: (o: MetricOptions): Gauge => {
      const g = once(
        name(o.name),
        () =>
          new client.Gauge({
            name: name(o.name),
            help: o.help,
            labelNames: [...(o.labelNames ?? [])],
            registers: [registry],
          }),
      );
      return {
        set: (labels, value) => g.set(labels, value),
        inc: (labels = {}, value = 1) => g.inc(labels, value),
        dec: (labels = {}, value = 1) => g.dec(labels, value),
      };
    },
    histogram: (o): Histogram => {
      const h = once(
        name(o.name),
        () =>
          new client.Histogram({
            name: name(o.name),
            help: o.help,
            labelNames: [...(o.labelNames ?? [])],
            ...(o.buckets ? { buckets: [...o.buckets] } : {}),
            registers: [registry],
          }),
      );
      return { observe: (labels, value) => h.observe(labels, value) };
    },
  };
  return { registry, metrics };
}

type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (text: string) =>
  text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const formatValue = (value: number) =>
  Number.isNaN(value)
    ? 'NaN'
    : value === Infinity
      ? '+Inf'
      : value === -Infinity
        ? '-Inf'
        : String(value);

/**
 * One Prometheus exposition of several registries (the server's own and every Prometheus
 * destination's), with each metric family exactly once: a family found in several registries is
 * written under the first registry's HELP and TYPE with the union of its series; a series (name +
 * labels) already written is not written again (the server's plugin-context counter
 * `sluice_prometheus_series_dropped_total` and each destination's own counter of the same name
 * count the same drops); a family whose type differs from the first one seen is left out rather
 * than produce an exposition Prometheus rejects. Checked with `promtool check metrics`.
 *
 * @example
 * ```ts
 * const text = await composeExposition([serverRegistry, destinationRegistry]);
 * ```
 */
export async function composeExposition(registries: readonly Registry[]): Promise<string> {
  const families = new Map<
    string,
    { help: string; type: string; lines: string[]; series: Set<string> }
  >();
  for (const registry of registries) {
    for (const metric of (await registry.getMetricsAsJSON()) as MetricJson[]) {
      const type = String(metric.type);
      let family = families.get(metric.name);
      if (family === undefined) {
        family = { help: metric.help, type, lines: [], series: new Set() };
        families.set(metric.name, family);
      } else if (family.type !== type) {
        continue;
      }
      for (const sample of metric.values) {
        const labels = Object.entries(sample.labels ?? {}).filter(([, v]) => v !== undefined);
        const sampleName = (sample as { metricName?: string }).metricName ?? metric.name;
        const labelText =
          labels.length === 0
            ? ''
            : `{${labels.map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(',')}}`;
        const key =
          sampleName + JSON.stringify([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
        if (family.series.has(key)) continue;
        family.series.add(key);
        family.lines.push(`${sampleName}${labelText} ${formatValue(sample.value)}`);
      }
    }
  }
  let out = '';
  for (const [name, family] of families) {
    out += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`;
    for (const line of family.lines) out += `${line}\n`;
  }
  return out;
}
