import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  FatalError,
  canonicalJson,
  PartialBatchError,
  RetryableError,
  createMemoryMetrics,
  createPluginContext,
  type DeliveryPolicy,
  type DestinationInstance,
  type JsonValue,
  type RouteSpec,
  type SluiceRecord,
} from '@sluice/core';
import { compileRouteTable } from '../route-table.js';
import { createRouter, type RouterDestination } from './router.js';
import { RunAbortedError, RunFailedError } from './errors.js';
import {
  memoryDeadLetters,
  recordingClock,
  recordingDestination,
  tick,
} from '../__fixtures__/fakes.js';

function setup(
  routes: RouteSpec[],
  dests: Record<string, DestinationInstance>,
  policies: Record<string, DeliveryPolicy> = {},
  extra: {
    maxInFlight?: number;
    maxBatch?: number;
    maxPendingRecords?: number;
    defaultRoute?: { to: string[] };
    idempotency?: 'batch' | 'record' | 'content';
  } = {},
) {
  const clock = recordingClock();
  const metrics = createMemoryMetrics();
  const ctx = createPluginContext({ clock, metrics });
  const table = compileRouteTable(routes, {
    ctx,
    destinations: Object.keys(dests),
    ...(extra.defaultRoute ? { defaultRoute: extra.defaultRoute } : {}),
  });
  const deadLetters = memoryDeadLetters();
  const destinations: Record<string, RouterDestination> = {};
  for (const [name, instance] of Object.entries(dests)) {
    destinations[name] = {
      instance,
      capabilities: {
        idempotent: true,
        maxInFlight: extra.maxInFlight ?? 1,
        ...(extra.maxBatch ? { maxBatch: extra.maxBatch } : {}),
        ...(extra.idempotency ? { idempotency: extra.idempotency } : {}),
      },
      policy: { retry: { initialDelayMs: 10, maxAttempts: 3 }, ...policies[name] },
    };
  }
  const router = createRouter({
    table,
    destinations,
    deadLetters,
    ctx,
    pipeline: 'daily',
    runId: 'run1',
    source: 'ga4',
    random: () => 0.5,
    ...(extra.maxPendingRecords ? { maxPendingRecords: extra.maxPendingRecords } : {}),
  });
  return { router, deadLetters, clock, metrics };
}

/** The segment name of a checkpoint state (source-position.ts). */
const digestOf = (state: JsonValue) =>
  createHash('sha256').update(canonicalJson(state)).digest('hex').slice(0, 10);

const records = (n: number, from = 0): SluiceRecord[] =>
  Array.from({ length: n }, (_, i) => ({ id: from + i }));

describe('batching', () => {
  it('gives a take-over the batch ids and record keys the killed attempt had for the same source positions', async () => {
    // Issue 18: a take-over resumes from the last committed checkpoint and re-reads what came
    // after it. Ids derive from that position (checkpoint digest + offset), never from the
    // attempt, so a destination keyed by them absorbs the repeat; records after another
    // checkpoint get other ids (the regression where attempt 2 overwrote attempt 1's files).
    const dest = recordingDestination();
    const ctx = createPluginContext({ clock: recordingClock(), metrics: createMemoryMetrics() });
    const table = compileRouteTable([{ name: 'all', to: ['db'] }], { ctx, destinations: ['db'] });
    const destinations = {
      db: {
        instance: dest,
        capabilities: { idempotent: false, maxInFlight: 1, idempotency: 'batch' as const },
        policy: { batch: { maxRecords: 2 } },
      },
    };
    const common = {
      table,
      destinations,
      deadLetters: memoryDeadLetters(),
      ctx,
      pipeline: 'daily',
      runId: 'run1',
      source: 'ga4',
    };
    const first = createRouter(common);
    first.atCheckpoint(undefined);
    await first.push(records(3, 100));
    first.atCheckpoint({ page: 1 });
    await first.push(records(3, 200));
    await first.close();
    // Attempt 2 resumes after page 1 (its checkpoint was committed) and re-reads page 2.
    const second = createRouter(common);
    second.atCheckpoint({ page: 1 });
    await second.push(records(3, 200));
    await second.close();
    const calls = dest.calls.map((b) => [b.id, b.records.map((r) => r.id), b.recordKeys]);
    const page2 = digestOf({ page: 1 });
    expect(calls).toEqual([
      [
        'daily-db-run1-74234e98af-000001',
        [100, 101],
        ['daily-db-run1-74234e98af-r000001', 'daily-db-run1-74234e98af-r000002'],
      ],
      // A batch never spans a checkpoint for a destination keyed by batch id: page 1's last record goes alone.
      ['daily-db-run1-74234e98af-000003', [102], ['daily-db-run1-74234e98af-r000003']],
      [
        `daily-db-run1-${page2}-000001`,
        [200, 201],
        [`daily-db-run1-${page2}-r000001`, `daily-db-run1-${page2}-r000002`],
      ],
      [`daily-db-run1-${page2}-000003`, [202], [`daily-db-run1-${page2}-r000003`]],
      [
        `daily-db-run1-${page2}-000001`,
        [200, 201],
        [`daily-db-run1-${page2}-r000001`, `daily-db-run1-${page2}-r000002`],
      ],
      [`daily-db-run1-${page2}-000003`, [202], [`daily-db-run1-${page2}-r000003`]],
    ]);
  });

  it('gives each output of one record to one destination a key of its own (two routes, a fanning-out transform), and a refused value keeps the offsets after it', async () => {
    const dest = recordingDestination();
    const { router } = setup(
      [
        { name: 'a', to: ['db'] },
        { name: 'b', to: ['db'] },
      ],
      { db: dest },
      { db: { batch: { maxRecords: 10 } } },
    );
    await router.push([{ id: 1 }, 'not a record' as unknown as SluiceRecord, { id: 3 }]);
    await router.close();
    const keys = dest.calls.flatMap((b) => b.recordKeys ?? []);
    const p = 'daily-db-run1-74234e98af-r';
    expect(keys).toEqual([`${p}000001`, `${p}000001.1`, `${p}000003`, `${p}000003.1`]);
  });

  it('replays records at the positions they were first read at (CreateRouterOptions.positions)', async () => {
    const dest = recordingDestination();
    const ctx = createPluginContext({ clock: recordingClock(), metrics: createMemoryMetrics() });
    const table = compileRouteTable([{ name: 'all', to: ['db'] }], { ctx, destinations: ['db'] });
    const router = createRouter({
      table,
      destinations: { db: { instance: dest, capabilities: { idempotent: false } } },
      deadLetters: memoryDeadLetters(),
      ctx,
      pipeline: 'daily',
      runId: 'replay-1',
      source: 'replay',
      positions: ['run0-0123456789-000042', undefined],
    });
    await router.push(records(2));
    await router.close();
    expect(dest.calls.map((b) => [b.id, b.recordKeys])).toEqual([
      [
        'daily-db-run0-0123456789-000042',
        ['daily-db-run0-0123456789-r000042', 'daily-db-replay-1-74234e98af-r000002'],
      ],
    ]);
  });

  it('cuts batches by maxRecords (never above maxBatch), each named after the source position of its first record', async () => {
    const dest = recordingDestination();
    const { router } = setup(
      [{ name: 'all', to: ['db'] }],
      { db: dest },
      { db: { batch: { maxRecords: 4 } } },
      { maxBatch: 3 },
    );
    await router.push(records(7));
    await router.flush();
    expect(dest.calls.map((b) => [b.id, b.records.length, b.attempt, b.route, b.source])).toEqual([
      ['daily-db-run1-74234e98af-000001', 3, 1, 'all', 'ga4'],
      ['daily-db-run1-74234e98af-000004', 3, 1, 'all', 'ga4'],
      ['daily-db-run1-74234e98af-000007', 1, 1, 'all', 'ga4'],
    ]);
    expect(dest.opened).toBe(1);
    const summary = await router.close();
    expect(dest.closed).toBe(1);
    expect(summary.destinations.db).toMatchObject({ delivered: 7, batches: 3, retries: 0 });
    expect(summary.records).toMatchObject({ in: 7, matched: 7, acknowledged: 7 });
  });

  it('cuts batches by maxBytes', async () => {
    const dest = recordingDestination();
    const { router } = setup(
      [{ name: 'all', to: ['db'] }],
      { db: dest },
      { db: { batch: { maxBytes: 30 } } },
    );
    await router.push([
      { a: 'xxxxx' },
      { a: 'yyyyy' },
      { a: 'zzzzzzzzzzzzzzzzzzzzzzzz' },
      { a: 'w' },
    ]);
    await router.flush();
    expect(dest.calls.map((b) => b.records.length)).toEqual([2, 1, 1]);
  });

  it('flushes a partial buffer after maxWaitMs', async () => {
    const dest = recordingDestination();
    const { router, clock } = setup(
      [{ name: 'all', to: ['db'] }],
      { db: dest },
      { db: { batch: { maxRecords: 100, maxWaitMs: 250 } } },
    );
    const checkpoint = await router.push(records(2));
    await router.whenAcknowledged(checkpoint);
    expect(clock.sleeps).toContain(250);
    expect(dest.calls).toHaveLength(1);
    await router.close();
  });

  it("gives a later attempt positions of its own when the source's re-reads may differ (rereads: 'may-differ', the default)", async () => {
    const dest = recordingDestination();
    const ctx = createPluginContext({ clock: recordingClock(), metrics: createMemoryMetrics() });
    const table = compileRouteTable([{ name: 'all', to: ['db'] }], { ctx, destinations: ['db'] });
    const common = {
      table,
      destinations: { db: { instance: dest, capabilities: { idempotent: false } } },
      deadLetters: memoryDeadLetters(),
      ctx,
      pipeline: 'daily',
      runId: 'run1',
      source: 'crm',
    };
    for (const options of [{ runAttempt: 2 }, { runAttempt: 2, rereads: 'same' as const }]) {
      const router = createRouter({ ...common, ...options });
      router.atCheckpoint({ page: 1 });
      await router.push(records(1));
      await router.close();
    }
    const page1 = digestOf({ page: 1 });
    expect(dest.calls.map((b) => b.id)).toEqual([
      `daily-db-run1-${page1}a2-000001`,
      `daily-db-run1-${page1}-000001`,
    ]);
  });

  it('never cuts a batch by maxWaitMs for a destination keyed by batch id: only checkpoints and sizes cut it', async () => {
    const dest = recordingDestination();
    const { router, clock } = setup(
      [{ name: 'all', to: ['db'] }],
      { db: dest },
      { db: { batch: { maxRecords: 100, maxWaitMs: 250 } } },
      { idempotency: 'batch' },
    );
    await router.push(records(2));
    await tick();
    expect(clock.sleeps).not.toContain(250);
    expect(dest.calls).toHaveLength(0);
    router.atCheckpoint({ page: 1 }); // a checkpoint boundary cuts
    await router.push(records(1, 10));
    await router.close();
    expect(dest.calls.map((b) => b.records.map((r) => r.id))).toEqual([[0, 1], [10]]);
  });

  it('fans out to every destination of every matching route', async () => {
    const a = recordingDestination();
    const b = recordingDestination();
    const { router } = setup(
      [
        { name: 'even', when: { path: '$.even', op: 'eq', value: true }, to: ['a', 'b'] },
        { name: 'all', to: ['a'] },
      ],
      { a, b },
    );
    await router.push([{ even: true }, { even: false }]);
    await router.flush();
    expect(a.written).toEqual([{ even: true }, { even: true }, { even: false }]);
    expect(b.written).toEqual([{ even: true }]);
    expect(a.calls[0]!.route).toBeUndefined(); // mixed routes in one batch
    // ...which names each record's route instead (the file destination's {{route}} groups by it).
    expect(a.calls[0]!.routes).toEqual(['even', 'all', 'all']);
    expect(b.calls[0]!.route).toBe('even');
    expect(b.calls[0]!.routes).toBeUndefined();
  });
});

describe('retries', () => {
  it('retries transient failures with backoff, keeping the batch id and incrementing attempt', async () => {
    const dest = recordingDestination((_b, call) => {
      if (call < 3) throw new RetryableError('busy');
    });
    const { router, clock, metrics } = setup([{ name: 'all', to: ['db'] }], { db: dest });
    await router.push(records(2));
    await router.flush();
    expect(dest.calls.map((b) => [b.id, b.attempt])).toEqual([
      ['daily-db-run1-74234e98af-000001', 1],
      ['daily-db-run1-74234e98af-000001', 2],
      ['daily-db-run1-74234e98af-000001', 3],
    ]);
    // full jitter with random()=0.5: half of 10 then half of 20
    expect(clock.sleeps.filter((s) => s !== 1000)).toEqual([5, 10]);
    expect(
      metrics.get('sluice_router_batch_retries_total', { pipeline: 'daily', destination: 'db' }),
    ).toBe(2);
    expect((await router.close()).destinations.db).toMatchObject({
      delivered: 2,
      retries: 2,
      deadLettered: 0,
    });
  });

  it('honours Retry-After from RetryableError', async () => {
    const dest = recordingDestination((_b, call) => {
      if (call === 1) throw new RetryableError('rate limited', { retryAfterMs: 7000 });
    });
    const { router, clock } = setup([{ name: 'all', to: ['db'] }], { db: dest });
    await router.push(records(1));
    await router.flush();
    expect(clock.sleeps).toContain(7000);
  });

  it('retries only the failed records of a PartialBatchError', async () => {
    const dest = recordingDestination((batch, call) => {
      if (call === 1) {
        throw new PartialBatchError([
          { index: 1, error: new RetryableError('deadlock') },
          { index: 3, error: new FatalError('column "x" missing') },
        ]);
      }
    });
    const { router, deadLetters } = setup([{ name: 'all', to: ['db'] }], { db: dest });
    await router.push(records(4));
    await router.flush();
    expect(dest.calls.map((b) => [b.id, b.attempt, b.records])).toEqual([
      ['daily-db-run1-74234e98af-000001', 1, records(4)],
      ['daily-db-run1-74234e98af-000001-r2', 2, [{ id: 1 }]],
    ]);
    expect(deadLetters.letters).toEqual([
      expect.objectContaining({
        route: 'all',
        destination: 'db',
        record: { id: 3 },
        attempts: 1,
        error: { name: 'FatalError', message: 'column "x" missing', code: 'SLUICE_ERR_FATAL' },
      }),
    ]);
    const summary = await router.close();
    expect(summary.destinations.db).toMatchObject({ delivered: 3, deadLettered: 1 });
  });

  it('does not retry FatalError', async () => {
    const dest = recordingDestination(() => {
      throw new FatalError('bad credentials');
    });
    const { router, deadLetters } = setup([{ name: 'all', to: ['db'] }], { db: dest });
    await router.push(records(2));
    await router.flush();
    expect(dest.calls).toHaveLength(1);
    expect(
      deadLetters.letters.map((l) => [l.record, l.attempts, l.pipeline, l.runId, l.original]),
    ).toEqual([
      [{ id: 0 }, 1, 'daily', 'run1', { id: 0 }],
      [{ id: 1 }, 1, 'daily', 'run1', { id: 1 }],
    ]);
  });

  it('dead-letters after maxAttempts with the attempt count', async () => {
    const dest = recordingDestination(() => {
      throw new Error('ECONNRESET');
    });
    const { router, deadLetters } = setup([{ name: 'all', to: ['db'] }], { db: dest });
    await router.push(records(1));
    await router.flush();
    expect(dest.calls.map((b) => b.attempt)).toEqual([1, 2, 3]);
    expect(deadLetters.letters[0]).toMatchObject({
      attempts: 3,
      error: { name: 'Error', message: 'ECONNRESET' },
    });
  });
});

describe('onError', () => {
  const failing = () =>
    recordingDestination(() => {
      throw new FatalError('nope');
    });

  it('drop counts the records and acknowledges them', async () => {
    const { router, deadLetters, metrics } = setup([{ name: 'all', to: ['db'], onError: 'drop' }], {
      db: failing(),
    });
    const cp = await router.push(records(3));
    await router.flush();
    await router.whenAcknowledged(cp);
    expect(deadLetters.letters).toHaveLength(0);
    const summary = await router.close();
    expect(summary.dropped).toBe(3);
    expect(summary.destinations.db!.dropped).toBe(3);
    expect(
      metrics.get('sluice_router_records_dropped_total', {
        pipeline: 'daily',
        route: 'all',
        destination: 'db',
        reason: 'delivery-failed',
      }),
    ).toBe(3);
  });

  it('fail-run rejects with RunFailedError and leaves the records unacknowledged', async () => {
    const { router } = setup([{ name: 'all', to: ['db'], onError: 'fail-run' }], { db: failing() });
    const cp = await router.push(records(3));
    await expect(router.flush()).rejects.toBeInstanceOf(RunFailedError);
    await expect(router.whenAcknowledged(cp)).rejects.toMatchObject({
      name: 'RunFailedError',
      route: 'all',
      destination: 'db',
    });
    await expect(router.push(records(1))).rejects.toBeInstanceOf(RunFailedError);
    const summary = await router.close();
    expect(summary).toMatchObject({
      failed: true,
      records: { acknowledged: 0 },
      error: { name: 'RunFailedError' },
    });
  });

  it('applies onError to transform failures too', async () => {
    const db = recordingDestination();
    const { router, deadLetters } = setup(
      [
        { name: 'typed', to: ['db'], transform: [{ kind: 'cast', fields: { n: 'number' } }] },
        {
          name: 'strict',
          to: ['db'],
          when: '$.strict',
          transform: [{ kind: 'cast', fields: { n: 'number' } }],
          onError: 'fail-run',
        },
      ],
      { db },
    );
    await router.push([{ n: '1' }, { n: 'x' }]);
    await router.flush();
    expect(db.written).toEqual([{ n: 1 }]);
    expect(deadLetters.letters).toEqual([
      expect.objectContaining({
        route: 'typed',
        destination: 'db',
        record: { n: 'x' },
        attempts: 1,
      }),
    ]);
    await expect(router.push([{ n: 'y', strict: true }])).rejects.toThrow(
      /route "strict" transform\[0\] \(cast\)/,
    );
  });

  it('fails the run when the dead-letter sink keeps failing (records are never lost)', async () => {
    const sink = {
      write: async () => {
        throw new Error('store down');
      },
    };
    const ctx = createPluginContext({ clock: recordingClock() });
    const table = compileRouteTable([{ name: 'all', to: ['db'] }], { ctx, destinations: ['db'] });
    const r2 = createRouter({
      table,
      ctx,
      deadLetters: sink,
      pipeline: 'p',
      runId: 'r',
      source: 's',
      destinations: { db: { instance: failing(), capabilities: { idempotent: true } } },
    });
    await r2.push(records(1));
    await expect(r2.flush()).rejects.toThrow(/dead-letter sink rejected 1 record\(s\): store down/);
    const summary = await r2.close();
    expect(summary).toMatchObject({ failed: true, deadLettered: 0, records: { acknowledged: 0 } });
  });
});

describe('back-pressure and concurrency', () => {
  it('push waits while a slow destination is full, and memory stays bounded', async () => {
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    let maxSeen = 0;
    let inFlight = 0;
    const dest = recordingDestination(async () => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      await gate;
      inFlight--;
    });
    const { router } = setup(
      [{ name: 'all', to: ['db'] }],
      { db: dest },
      { db: { batch: { maxRecords: 10 }, concurrency: 2 } },
      { maxInFlight: 4 },
    );
    let pushed = false;
    const pushing = router.push(records(100)).then(() => (pushed = true));
    await tick();
    expect(pushed).toBe(false);
    // two batches in flight (concurrency = min(2, 4)), one more full batch waiting
    expect(dest.calls).toHaveLength(2);
    expect(router.checkpoint().position).toBeLessThanOrEqual(31);
    for (let i = 0; i < 20 && !pushed; i++) {
      release();
      gate = new Promise<void>((r) => (release = r));
      await tick();
    }
    release();
    gate = Promise.resolve();
    await pushing;
    await router.flush();
    expect(maxSeen).toBe(2);
    expect(dest.written).toHaveLength(100);
  });

  it('acknowledges a contiguous prefix even when batches finish out of order', async () => {
    const gates: (() => void)[] = [];
    const dest = recordingDestination(() => new Promise<void>((r) => gates.push(r)));
    const { router } = setup(
      [{ name: 'all', to: ['db'] }],
      { db: dest },
      { db: { batch: { maxRecords: 2 }, concurrency: 2 } },
      { maxInFlight: 2 },
    );
    const first = await router.push(records(2));
    const second = await router.push(records(2, 2));
    await tick();
    expect(gates).toHaveLength(2);
    gates[1]!();
    await tick();
    expect(router.acknowledged()).toBe(0);
    gates[0]!();
    await router.whenAcknowledged(second);
    await router.whenAcknowledged(first);
    expect(router.acknowledged()).toBe(4);
  });
});

describe('abort and observability', () => {
  it('abort stops writes and rejects waiters', async () => {
    const dest = recordingDestination((_b, call) => {
      if (call === 1) throw new RetryableError('busy', { retryAfterMs: 60_000 });
    });
    const { router } = setup([{ name: 'all', to: ['db'] }], { db: dest });
    const cp = await router.push(records(1));
    router.flush().catch(() => undefined);
    await tick();
    router.abort(new Error('shutdown'));
    await expect(router.whenAcknowledged(cp)).rejects.toBeInstanceOf(RunAbortedError);
    const summary = await router.close();
    expect(summary.failed).toBe(true);
    expect(dest.calls).toHaveLength(1);
  });

  it('reports metrics per route and destination', async () => {
    const db = recordingDestination();
    const { router, metrics } = setup(
      [
        { name: 'some', when: { path: '$.id', op: 'lt', value: 2 }, to: ['db'] },
        { name: 'none', when: '$.nope', to: ['db'], transform: [{ kind: 'drop' }] },
      ],
      { db },
    );
    await router.push(records(3));
    await router.close();
    expect(metrics.get('sluice_router_records_in_total', { pipeline: 'daily' })).toBe(3);
    expect(
      metrics.get('sluice_router_route_matched_total', { pipeline: 'daily', route: 'some' }),
    ).toBe(2);
    expect(metrics.get('sluice_router_records_unmatched_total', { pipeline: 'daily' })).toBe(1);
    expect(
      metrics.get('sluice_router_records_delivered_total', {
        pipeline: 'daily',
        route: 'some',
        destination: 'db',
      }),
    ).toBe(2);
    expect(
      metrics.get('sluice_router_batch_records', { pipeline: 'daily', destination: 'db' }),
    ).toEqual([2]);
    expect(
      metrics.get('sluice_router_batch_write_seconds', {
        pipeline: 'daily',
        destination: 'db',
        outcome: 'ok',
      }),
    ).toHaveLength(1);
    expect(
      metrics.get('sluice_router_record_delivery_seconds', {
        pipeline: 'daily',
        destination: 'db',
      }),
    ).toHaveLength(1);
  });

  it('counts records a transform drops', async () => {
    const db = recordingDestination();
    const { router, metrics } = setup(
      [
        {
          name: 'r',
          to: ['db'],
          transform: [{ kind: 'drop', when: { path: '$.id', op: 'eq', value: 0 } }],
        },
      ],
      { db },
    );
    await router.push(records(2));
    const summary = await router.close();
    expect(summary.routes.r).toEqual({ matched: 2, produced: 1, droppedByTransform: 1, failed: 0 });
    expect(summary.dropped).toBe(1);
    expect(
      metrics.get('sluice_router_records_dropped_total', {
        pipeline: 'daily',
        route: 'r',
        destination: '',
        reason: 'transform',
      }),
    ).toBe(1);
  });
});
