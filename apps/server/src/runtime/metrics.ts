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
export function createPromMetrics(options: { registry?: Registry; defaultMetrics?: boolean } = {}): {
  registry: Registry;
  metrics: Metrics;
} {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) client.collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const made = new Map<string, unknown>();
  const name = (n: string) => (n.startsWith(PREFIX) ? n : PREFIX + n);
  function once<T>(key: string, make: () => T): T {
    if (!made.has(key)) made.set(key, make());
    return made.get(key) as T;
  }
  const metrics: Metrics = {
    counter: (o: MetricOptions): Counter => {
      const c = once(name(o.name), () => new client.Counter({ name: name(o.name), help: o.help, labelNames: [...(o.labelNames ?? [])], registers: [registry] }));
      return { inc: (labels = {}, value = 1) => c.inc(labels, value) };
    },
    gauge: (o: MetricOptions): Gauge => {
      const g = once(name(o.name), () => new client.Gauge({ name: name(o.name), help: o.help, labelNames: [...(o.labelNames ?? [])], registers: [registry] }));
      return {
        set: (labels, value) => g.set(labels, value),
        inc: (labels = {}, value = 1) => g.inc(labels, value),
        dec: (labels = {}, value = 1) => g.dec(labels, value),
      };
    },
    histogram: (o): Histogram => {
      const h = once(name(o.name), () =>
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
