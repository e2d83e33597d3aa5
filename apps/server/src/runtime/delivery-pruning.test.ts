import type { SluiceConfig } from '@sluice/config';
import type { Clock, Logger } from '@sluice/core';
import { createStore, type Store } from '@sluice/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DELIVERY_RETENTION_MS,
  startDeliveryPruning,
  unprunablePipelines,
} from './delivery-pruning.js';

const HOUR = 60 * 60 * 1000;
const NOW = Date.parse('2026-11-25T12:00:00Z');
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const clock: Clock = { now: () => NOW, sleep: async () => {} };
const lines: { level: string; obj: unknown; msg?: string }[] = [];
const logger = {
  trace() {},
  debug() {},
  info: (obj: unknown, msg?: string) =>
    lines.push({ level: 'info', obj, ...(msg === undefined ? {} : { msg }) }),
  warn: (obj: unknown, msg?: string) =>
    lines.push({ level: 'warn', obj, ...(msg === undefined ? {} : { msg }) }),
  error() {},
  fatal() {},
  child: () => logger,
} as unknown as Logger;

/** The part of the configuration the pruner reads: each pipeline's webhook scheme. */
const config = {
  pipelines: {
    signed: { webhook: { verify: 'standard-webhooks' } },
    slack: { webhook: { verify: 'slack' } },
    unsigned: { webhook: { verify: 'none' } },
    scheduled: {},
  },
} as unknown as SluiceConfig;

let store: Store;

beforeAll(async () => {
  store = await createStore({ dataDir: 'memory://' });
  await store.migrate();
});

afterAll(async () => {
  await store?.close();
});

describe('webhook delivery pruning', () => {
  it('keeps 24 hours, far past the 5-minute (at most 1-hour) signature tolerance', () => {
    expect(DELIVERY_RETENTION_MS).toBe(24 * HOUR);
  });

  it('never prunes pipelines with scheme none: no timestamp bounds when a copy may arrive', () => {
    expect(unprunablePipelines(config)).toEqual(['unsigned']);
  });

  it('forgets ids older than the retention of signed pipelines at start, and keeps the rest', async () => {
    const d = store.webhookDeliveries;
    await d.recordDelivery('signed', 'msg_old', at(25 * HOUR), 'run-1');
    await d.recordDelivery('signed', 'msg_recent', at(23 * HOUR), 'run-2');
    await d.recordDelivery('slack', 'slack:old', at(48 * HOUR), 'run-3');
    await d.recordDelivery('unsigned', 'none:k1', at(30 * 24 * HOUR), 'run-4');
    await d.recordDelivery('gone', 'msg_of_a_removed_pipeline', at(72 * HOUR), 'run-5');

    const pruning = startDeliveryPruning({
      deliveries: d,
      config: () => config,
      logger,
      clock,
      intervalMs: 60_000,
    });
    await pruning.stop();

    // A copy of a pruned delivery would be refused by its timestamp anyway; the store no longer knows it.
    expect(await d.recordDelivery('signed', 'msg_old', at(0), 'run-1b')).toEqual({
      fresh: true,
      runId: 'run-1b',
    });
    expect(await d.recordDelivery('slack', 'slack:old', at(0), 'run-3b')).toEqual({
      fresh: true,
      runId: 'run-3b',
    });
    expect(await d.recordDelivery('gone', 'msg_of_a_removed_pipeline', at(0), 'run-5b')).toEqual({
      fresh: true,
      runId: 'run-5b',
    });
    // Kept: younger than 24 h, and every id of a `none` pipeline however old.
    expect(await d.recordDelivery('signed', 'msg_recent', at(0), 'run-x')).toEqual({
      fresh: false,
      runId: 'run-2',
    });
    expect(await d.recordDelivery('unsigned', 'none:k1', at(0), 'run-y')).toEqual({
      fresh: false,
      runId: 'run-4',
    });
    expect(lines.find((l) => l.msg === 'pruned old webhook delivery ids')?.obj).toMatchObject({
      removed: 3,
      kept: ['unsigned'],
    });
  });

  it('prunes again every interval, with the configuration of the moment', async () => {
    const d = store.webhookDeliveries;
    let current = config;
    const pruning = startDeliveryPruning({
      deliveries: d,
      config: () => current,
      logger,
      clock,
      intervalMs: 50,
    });
    await new Promise((r) => setTimeout(r, 20));
    await d.recordDelivery('signed', 'msg_later', at(26 * HOUR), 'run-6');
    // The `unsigned` pipeline's webhook now uses a signed scheme: its old ids may go.
    current = {
      pipelines: { ...config.pipelines, unsigned: { webhook: { verify: 'hubspot-v3' } } },
    } as unknown as SluiceConfig;
    await new Promise((r) => setTimeout(r, 200));
    await pruning.stop();
    expect(await d.recordDelivery('signed', 'msg_later', at(0), 'run-6b')).toEqual({
      fresh: true,
      runId: 'run-6b',
    });
    expect(await d.recordDelivery('unsigned', 'none:k1', at(0), 'run-4b')).toEqual({
      fresh: true,
      runId: 'run-4b',
    });
  });

  it('logs a failed pass and keeps going', async () => {
    let calls = 0;
    const failing = {
      pruneDeliveries: async () =>
        calls++ === 0 ? Promise.reject(new Error('store unavailable')) : 0,
    };
    const pruning = startDeliveryPruning({
      deliveries: failing,
      config: () => config,
      logger,
      clock,
      intervalMs: 30,
    });
    await new Promise((r) => setTimeout(r, 120));
    await pruning.stop();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(
      lines.some(
        (l) =>
          l.level === 'warn' && String(l.msg).startsWith('pruning webhook delivery ids failed'),
      ),
    ).toBe(true);
  });
});
