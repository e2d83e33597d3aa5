import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  FatalError,
  PartialBatchError,
  RetryableError,
  createMemoryMetrics,
  createNoopLogger,
  createPluginContext,
  parseConfig,
  type Clock,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { startTcpProxy } from '@sluice/testing/fakes';
import { Registry } from 'prom-client';
import { parseExposition } from './__fixtures__/exposition.js';
import { startFakePushgateway, type FakePushgateway } from './__fixtures__/pushgateway.js';
import { createPrometheusDestination, prometheusDestination } from './destination.js';

const signal = new AbortController().signal;

function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, sleep: async () => {}, advance: (ms) => void (now += ms) };
}

/** The fake Pushgateway listens on loopback, which is blocked unless opted in explicitly. */
const LOOPBACK_FAKE = { allow: ['127.0.0.1'] };

function create(
  raw: Record<string, unknown>,
  parts: Parameters<typeof createPluginContext>[0] = {},
  registry?: Registry,
) {
  const config = parseConfig(prometheusDestination.configSchema, raw);
  return createPrometheusDestination(
    config,
    createPluginContext(parts),
    registry ? { registry } : {},
  );
}

async function samples(registry: Registry, name?: string) {
  const all = parseExposition(await registry.metrics());
  return name ? all.filter((s) => s.name === name) : all;
}

describe('mapping records to metrics', () => {
  it('sets gauges, increments counters and observes histograms with labels and const labels', async () => {
    const dest = create({
      constLabels: { env: 'test' },
      metrics: [
        {
          name: 'ga4_sessions',
          type: 'gauge',
          help: 'Sessions',
          value: 'sessions',
          labels: { channel: 'channel' },
        },
        { name: 'ga4_rows_total', type: 'counter', help: 'Rows', labels: { channel: 'channel' } },
        { name: 'ga4_revenue_total', type: 'counter', help: 'Revenue', value: 'totals.revenue' },
        {
          name: 'ga4_bounce',
          type: 'histogram',
          help: 'Bounce',
          value: 'bounce',
          buckets: [0.25, 0.5, 1],
        },
      ],
    });
    await dest.write(
      makeBatch([
        { channel: 'email', sessions: 10, totals: { revenue: '12.5' }, bounce: 0.2 },
        { channel: 'email', sessions: 12, totals: { revenue: 7.5 }, bounce: 0.7 },
        { channel: 'paid', sessions: true, totals: { revenue: 0 }, bounce: 0.4 },
      ]),
      { signal },
    );
    const registry = dest.getRegistry();
    expect(await samples(registry, 'ga4_sessions')).toEqual([
      { name: 'ga4_sessions', labels: { channel: 'email', env: 'test' }, value: 12 },
      { name: 'ga4_sessions', labels: { channel: 'paid', env: 'test' }, value: 1 },
    ]);
    expect(
      (await samples(registry, 'ga4_rows_total')).map((s) => [s.labels.channel, s.value]),
    ).toEqual([
      ['email', 2],
      ['paid', 1],
    ]);
    expect((await samples(registry, 'ga4_revenue_total'))[0]!.value).toBe(20);
    const buckets = (await samples(registry, 'ga4_bounce_bucket')).map((s) => [
      s.labels.le,
      s.value,
    ]);
    expect(buckets).toEqual([
      ['0.25', 1],
      ['0.5', 2],
      ['1', 3],
      ['+Inf', 3],
    ]);
    expect((await samples(registry, 'ga4_bounce_count'))[0]!.value).toBe(3);
    await dest.close();
  });

  it('reads fields by core field path, and still reads the deprecated dot paths, logging what to write', async () => {
    const warnings: [Record<string, unknown>, string][] = [];
    const logger = createNoopLogger();
    const recording = {
      ...logger,
      warn: (obj: unknown, msg?: string) =>
        void warnings.push([obj as Record<string, unknown>, msg!]),
      child: () => recording,
    };
    const registry = new Registry();
    const dest = create(
      {
        metrics: [
          {
            name: 'canonical',
            type: 'gauge',
            help: 'c',
            value: '$.items[-1].price',
            labels: { source: "$['utm.source']" },
          },
          {
            name: 'legacy',
            type: 'gauge',
            help: 'l',
            value: 'items.0.price',
            labels: { tenant: 'tenant.id' },
          },
        ],
      },
      { logger: recording },
      registry,
    );
    await dest.write(
      makeBatch([
        { items: [{ price: 2 }, { price: 3 }], 'utm.source': 'nl', tenant: { id: 't1' } },
      ]),
      { signal },
    );
    expect(await samples(registry, 'canonical')).toEqual([
      expect.objectContaining({ labels: { source: 'nl' }, value: 3 }),
    ]);
    expect(await samples(registry, 'legacy')).toEqual([
      expect.objectContaining({ labels: { tenant: 't1' }, value: 2 }),
    ]);
    expect(warnings).toEqual([
      [
        { field: 'metrics[1].value', path: 'items.0.price', replacement: '$.items[0].price' },
        'metrics[1].value: the dot path "items.0.price" is deprecated; write "$.items[0].price"',
      ],
      [
        { field: 'metrics[1].labels.tenant', path: 'tenant.id', replacement: '$.tenant.id' },
        'metrics[1].labels.tenant: the dot path "tenant.id" is deprecated; write "$.tenant.id"',
      ],
    ]);
    await dest.close();
  });

  it('refuses a field path that may select several values, naming the metric field', () => {
    expect(() =>
      create({ metrics: [{ name: 'm', type: 'gauge', help: 'm', value: '$.items[*].price' }] }),
    ).toThrow(ConfigError);
    try {
      create({ metrics: [{ name: 'm', type: 'gauge', help: 'm', value: '$.items[*].price' }] });
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([
        {
          path: 'metrics[0].value',
          message: expect.stringMatching(
            /^"\$\.items\[\*\]\.price" is not a field path: a wildcard selects several values/,
          ),
        },
      ]);
    }
  });

  it('fails only the records that cannot be mapped, naming the field, and applies nothing of them', async () => {
    const dest = create({
      metrics: [
        { name: 'm_value', type: 'gauge', help: 'v', value: 'v', labels: { tenant: 'tenant.id' } },
        { name: 'm_rows_total', type: 'counter', help: 'rows', value: 'n' },
      ],
    });
    const err = await dest
      .write(
        makeBatch([
          { v: 1, tenant: { id: 'a' }, n: 1 },
          { v: 'NaN?', tenant: { id: 'b' }, n: 1 },
          { v: 2, tenant: {}, n: 1 },
          { v: 3, tenant: { id: { nested: 1 } }, n: 1 },
          { v: 4, tenant: { id: 'e' }, n: -1 },
          { v: 5, tenant: { id: 'f' } },
        ]),
        { signal },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialBatchError);
    const failures = (err as PartialBatchError).failures;
    expect(failures.map((f) => f.index)).toEqual([1, 2, 3, 4, 5]);
    expect(failures.every((f) => f.error instanceof FatalError)).toBe(true);
    expect(failures.map((f) => f.error.message)).toEqual([
      'metrics[0].value (record field "v") is "NaN?", not a number',
      'metrics[0].labels.tenant (record field "tenant.id") is missing',
      'metrics[0].labels.tenant (record field "tenant.id") is an object, not a label value',
      'metrics[1].value (record field "n") is -1; a counter can only increase',
      'metrics[1].value (record field "n") is missing',
    ]);
    // Record 4 failed on its counter: its gauge value must not have been applied either.
    expect((await samples(dest.getRegistry(), 'm_value')).map((s) => s.labels.tenant)).toEqual([
      'a',
    ]);
    expect((await samples(dest.getRegistry(), 'm_rows_total'))[0]!.value).toBe(1);
  });

  it('does not count a retried batch (same id) twice', async () => {
    const dest = create({
      metrics: [{ name: 'orders_total', type: 'counter', help: 'Orders', value: 'n' }],
    });
    const batch = makeBatch([{ n: 2 }, { n: 3 }]);
    await dest.write(batch, { signal });
    await dest.write({ ...batch, attempt: 2 }, { signal });
    await dest.write(makeBatch([{ n: 1 }]), { signal });
    expect((await samples(dest.getRegistry(), 'orders_total'))[0]!.value).toBe(6);
  });
});

describe('cardinality and staleness', () => {
  it('drops series beyond maxSeriesPerMetric, counts them, and keeps existing series updating', async () => {
    const metrics = createMemoryMetrics();
    const dest = create(
      {
        maxSeriesPerMetric: 3,
        metrics: [
          { name: 'per_user', type: 'gauge', help: 'u', value: 'v', labels: { user: 'user' } },
        ],
      },
      { metrics },
    );
    const records = Array.from({ length: 1000 }, (_, i) => ({ user: `u${i}`, v: i }));
    await dest.write(makeBatch(records), { signal });
    await dest.write(makeBatch([{ user: 'u0', v: 42 }]), { signal });
    const series = await samples(dest.getRegistry(), 'per_user');
    expect(series.map((s) => [s.labels.user, s.value])).toEqual([
      ['u0', 42],
      ['u1', 1],
      ['u2', 2],
    ]);
    const dropped = await samples(dest.getRegistry(), 'sluice_prometheus_series_dropped_total');
    expect(dropped).toEqual([
      {
        name: 'sluice_prometheus_series_dropped_total',
        labels: { metric: 'per_user' },
        value: 997,
      },
    ]);
    expect(metrics.get('prometheus_series_dropped_total', { metric: 'per_user' })).toBe(997);
  });

  it('removes series not refreshed within staleAfterMs, on scrape and on write, freeing room for new ones', async () => {
    const clock = fakeClock();
    const dest = create(
      {
        staleAfterMs: 60_000,
        maxSeriesPerMetric: 2,
        metrics: [
          { name: 'by_channel', type: 'gauge', help: 'c', value: 'v', labels: { channel: 'c' } },
        ],
      },
      { clock },
    );
    await dest.write(makeBatch([{ c: 'email', v: 1 }]), { signal });
    clock.advance(30_000);
    await dest.write(makeBatch([{ c: 'paid', v: 2 }]), { signal });
    clock.advance(40_000); // email: 70 s old (stale), paid: 40 s
    expect((await samples(dest.getRegistry(), 'by_channel')).map((s) => s.labels.channel)).toEqual([
      'paid',
    ]);
    await dest.write(
      makeBatch([
        { c: 'social', v: 3 },
        { c: 'direct', v: 4 },
      ]),
      { signal },
    );
    // Room was freed by the stale series: social gets in, direct is over the limit.
    expect((await samples(dest.getRegistry(), 'by_channel')).map((s) => s.labels.channel)).toEqual([
      'paid',
      'social',
    ]);
  });
});

describe('registry', () => {
  it('registers on a registry passed in, refuses a name clash with a ConfigError, and frees names on close', async () => {
    const shared = new Registry();
    const raw = { metrics: [{ name: 'shared_gauge', type: 'gauge', help: 'g', value: 'v' }] };
    const first = create(raw, {}, shared);
    expect(first.getRegistry()).toBe(shared);
    expect(() => create(raw, {}, shared)).toThrow(ConfigError);
    expect(() => create(raw, {}, shared)).toThrow(
      /metrics\[0\]\.name: a metric named shared_gauge is already registered/,
    );
    await first.write(makeBatch([{ v: 5 }]), { signal });
    expect(await samples(shared, 'shared_gauge')).toHaveLength(1);
    await first.close();
    await first.close();
    expect(await samples(shared, 'shared_gauge')).toHaveLength(0);
    await expect(first.write(makeBatch([{ v: 1 }]), { signal })).rejects.toThrow(/closed/);
    const second = create(raw, {}, shared);
    await second.close();
  });

  it('refuses a label that is also a const label', () => {
    expect(() =>
      create({
        constLabels: { env: 'x' },
        metrics: [{ name: 'a', type: 'gauge', help: 'a', value: 'v', labels: { env: 'e' } }],
      }),
    ).toThrow(/metrics\[0\]\.labels\.env: label env is also a constLabel/);
  });
});

describe('Pushgateway', () => {
  let gateway: FakePushgateway;
  beforeAll(async () => {
    gateway = await startFakePushgateway();
  });
  afterAll(() => gateway.close());

  it('pushes the registry after each write to /metrics/job/<job>/<grouping>, PUT or POST', async () => {
    for (const method of ['put', 'post'] as const) {
      const dest = create({
        metrics: [{ name: `pushed_${method}`, type: 'gauge', help: 'p', value: 'v' }],
        pushgateway: { url: gateway.url, job: 'nightly', grouping: { instance: 'a b' }, method },
        ssrf: LOOPBACK_FAKE,
      });
      await dest.write(makeBatch([{ v: 7 }]), { signal });
      const push = gateway.pushes.at(-1)!;
      expect(push.method).toBe(method.toUpperCase());
      expect(push.path).toBe('/metrics/job/nightly/instance/a%20b');
      expect(parseExposition(push.body).find((s) => s.name === `pushed_${method}`)?.value).toBe(7);
      await dest.close();
    }
  });

  it('classifies push failures: 4xx fatal, 5xx and unreachable retryable', async () => {
    const restore = gateway.failWith('/metrics/job/rejected', 400);
    const rejected = create({
      metrics: [{ name: 'r1', type: 'gauge', help: 'r', value: 'v' }],
      pushgateway: { url: gateway.url, job: 'rejected' },
      ssrf: LOOPBACK_FAKE,
    });
    await expect(rejected.write(makeBatch([{ v: 1 }]), { signal })).rejects.toBeInstanceOf(
      FatalError,
    );
    restore();

    // A port that was just free: nothing listens there.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const unreachable = create({
      metrics: [{ name: 'r2', type: 'gauge', help: 'r', value: 'v' }],
      pushgateway: { url: `http://127.0.0.1:${port}`, job: 'down', timeoutMs: 2000 },
      ssrf: LOOPBACK_FAKE,
    });
    const err = await unreachable.write(makeBatch([{ v: 1 }]), { signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/Pushgateway failed/);
  });
});

describe('Pushgateway: outgoing-connection guard', () => {
  let gateway: FakePushgateway;
  beforeAll(async () => {
    gateway = await startFakePushgateway();
  });
  afterAll(() => gateway.close());

  it('refuses loopback and metadata push URLs without opt-in: coded error, no TCP connection; pushes with it', async () => {
    const proxy = await startTcpProxy(Number(new URL(gateway.url).port), '127.0.0.1', {
      listenHost: '::',
    });
    try {
      const pushes = gateway.pushes.length;
      let n = 0;
      for (const host of [
        '127.0.0.1',
        'localhost',
        '[::1]',
        '[::ffff:127.0.0.1]',
        '[::127.0.0.1]',
        '2130706433',
        '0x7f.1',
        '169.254.169.254',
      ]) {
        const dest = create({
          metrics: [{ name: `guarded_${++n}`, type: 'gauge', help: 'g', value: 'v' }],
          pushgateway: { url: `http://${host}:${proxy.port}`, job: 'guarded', timeoutMs: 2000 },
        });
        const err = await dest.write(makeBatch([{ v: 1 }]), { signal }).catch((e: unknown) => e);
        expect(err, host).toBeInstanceOf(FatalError);
        expect(err, host).toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
          details: { field: 'pushgateway.url' },
        });
        expect((err as Error).message, host).toMatch(
          /^pushgateway\.url: refusing to connect to .*(loopback|linkLocal) addresses are blocked/,
        );
        expect(await dest.check!(), host).toMatchObject({
          ok: false,
          message: expect.stringMatching(/^pushgateway\.url: refusing to connect/),
        });
        await dest.close();
      }
      expect(proxy.accepted).toBe(0);
      expect(gateway.pushes.length).toBe(pushes);

      const allowed = create({
        metrics: [{ name: 'guarded_allowed', type: 'gauge', help: 'g', value: 'v' }],
        pushgateway: { url: `http://127.0.0.1:${proxy.port}`, job: 'guarded' },
        ssrf: { allow: ['127.0.0.1'] },
      });
      expect(await allowed.check!()).toMatchObject({
        ok: true,
        message: expect.stringMatching(/resolves to allowed address\(es\) 127\.0\.0\.1/),
      });
      await allowed.write(makeBatch([{ v: 1 }]), { signal });
      expect(proxy.accepted).toBe(1);
      expect(gateway.pushes.at(-1)!.path).toBe('/metrics/job/guarded');
      await allowed.close();
    } finally {
      await proxy.close();
    }
  });
});
