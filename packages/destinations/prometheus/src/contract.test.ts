import { afterAll, beforeAll, expect } from 'vitest';
import type { SluiceRecord } from '@sluice/core';
import { testDestination } from '@sluice/testing';
import { parseExposition } from './__fixtures__/exposition.js';
import { startFakePushgateway, type FakePushgateway } from './__fixtures__/pushgateway.js';
import { prometheusDestination } from './destination.js';
import type { PrometheusConfig } from './config.js';

let gateway: FakePushgateway;
let sequence = 0;
beforeAll(async () => {
  gateway = await startFakePushgateway();
});
afterAll(() => gateway.close());

const pushPath = (config: PrometheusConfig) => `/metrics/job/${config.pushgateway!.job}`;

/** Turns the pushed gauge series back into the records that produced them. */
function readBack(config: PrometheusConfig): SluiceRecord[] {
  const body = gateway.last(pushPath(config)) ?? '';
  return parseExposition(body)
    .filter((s) => s.name === 'contract_score')
    .map((s) => ({
      id: Number(s.labels.id),
      name: s.labels.name!,
      score: s.value,
      active: s.labels.active === 'true',
    }));
}

const metric = (extra: Record<string, unknown> = {}) => ({
  name: 'x_total',
  type: 'counter',
  help: 'x',
  ...extra,
});

testDestination<PrometheusConfig>({
  name: 'prometheus (pushed to a Pushgateway)',
  definition: prometheusDestination,
  config: () => ({
    metrics: [
      {
        name: 'contract_score',
        type: 'gauge',
        help: 'Score per record',
        value: 'score',
        labels: { id: 'id', name: 'name', active: 'active' },
      },
    ],
    pushgateway: { url: gateway.url, job: `contract-${++sequence}` },
    ssrf: { allow: ['127.0.0.1'] }, // the fake Pushgateway listens on loopback: opt in explicitly
  }),
  readBack: async (config) => readBack(config),
  invalidConfigs: [
    { name: 'no metrics', config: {}, path: 'metrics' },
    { name: 'empty metrics', config: { metrics: [] }, path: 'metrics' },
    {
      name: 'invalid metric name',
      config: { metrics: [metric({ name: 'ga4-sessions' })] },
      path: 'metrics[0].name',
    },
    {
      name: 'unknown type',
      config: { metrics: [metric({ type: 'summary' })] },
      path: 'metrics[0].type',
    },
    {
      name: 'gauge without value',
      config: { metrics: [metric({ type: 'gauge' })] },
      path: 'metrics[0].value',
    },
    {
      name: 'invalid label name',
      config: { metrics: [metric({ labels: { 'bad-label': 'x' } })] },
      path: 'metrics[0].labels.bad-label',
    },
    {
      name: 'reserved label name',
      config: { metrics: [metric({ labels: { __name: 'x' } })] },
      path: 'metrics[0].labels.__name',
    },
    {
      name: 'invalid value path',
      config: { metrics: [metric({ value: 'a..b' })] },
      path: 'metrics[0].value',
    },
    {
      name: 'buckets not increasing',
      config: { metrics: [metric({ type: 'histogram', value: 'v', buckets: [1, 5, 2] })] },
      path: 'metrics[0].buckets',
    },
    {
      name: 'le label on a histogram',
      config: { metrics: [metric({ type: 'histogram', value: 'v', labels: { le: 'x' } })] },
      path: 'metrics[0].labels',
    },
    {
      name: 'duplicate metric',
      config: { metrics: [metric(), metric()] },
      path: 'metrics[1].name',
    },
    {
      name: 'zero cardinality',
      config: { metrics: [metric()], maxSeriesPerMetric: 0 },
      path: 'maxSeriesPerMetric',
    },
    {
      name: 'bad pushgateway url',
      config: { metrics: [metric()], pushgateway: { url: 'not a url', job: 'j' } },
      path: 'pushgateway.url',
    },
    {
      name: 'typo in a key',
      config: { metrics: [metric({ lables: {} })] },
      path: 'metrics[0].lables',
    },
  ],
  transientFailure: {
    inject: (config) => gateway.failWith(pushPath(config), 503),
  },
  partialFailure: {
    records: [
      { id: 1, name: 'a', score: 1, active: true },
      { id: 2, name: 'b', score: 'abc', active: true },
      { id: 3, name: 'c', active: false },
      { id: 4, name: 'd', score: '2.5e1', active: false },
    ],
    failed: [1, 2],
  },
  expectSame: (got, want) => {
    const norm = (list: SluiceRecord[]) =>
      list
        .map((r): SluiceRecord => ({ ...r, score: Number(r.score) }))
        .sort((a, b) => Number(a.id) - Number(b.id));
    // Values come back as numbers ("2.5e1" was written as 25).
    expect(norm(got)).toEqual(norm(want));
  },
});
