// The webhook inbox through the scheduler (issue 20), on PGlite and PostgreSQL: accepted
// deliveries are committed to the store's inbox, copies absorbed, drain runs coalesced, the
// bound answered 429, and what a stopped instance accepted drained by the next one.
import type { JsonObject } from '@sluice/core';
import { createStore, type Store } from '@sluice/store';
import type { ConstructorOptions } from 'pg-boss';
import { afterAll, describe, expect, it } from 'vitest';
import type { TriggerRefusal } from '../backlog.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from '../scheduler.js';
import type { ExecuteRun } from '../types.js';
import { createTestDatabase, dropTestDatabase } from '../__fixtures__/postgres.js';
import { waitFor } from '../__fixtures__/wait.js';
import { inboxDrainParams } from './inbox.js';
import { signStandardWebhook } from './standard-webhooks.js';

const SECRET = 'whsec_' + Buffer.from('sluice inbox test secret').toString('base64');
const DATABASE = 'sluice_sched_inbox_test';

interface Backend {
  name: string;
  open(): Promise<{ store: Store; boss: ConstructorOptions; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'PGlite',
    async open() {
      const store = await createStore({ dataDir: 'memory://', schema: 'sluice_inbox' });
      await store.migrate();
      return { store, boss: store.pgBossDb() as ConstructorOptions, close: () => store.close() };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const url = await createTestDatabase(DATABASE);
      const store = await createStore({ url, schema: 'sluice_inbox' });
      await store.migrate();
      return {
        store,
        boss: { connectionString: url, max: 5 },
        close: async () => {
          await store.close();
          await dropTestDatabase(DATABASE);
        },
      };
    },
  },
];

describe.each(backends)('webhook inbox on $name', (backend) => {
  let env: Awaited<ReturnType<Backend['open']>> | undefined;
  const schedulers: Scheduler[] = [];
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await env?.close();
  }, 60_000);

  const start = async (
    options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'pipelines' | 'execute'>,
  ) => {
    env ??= await backend.open();
    const scheduler = createScheduler({
      stores: env.store,
      boss: {
        ...env.boss,
        schema: 'sluice_inbox_jobs',
        superviseIntervalSeconds: 1,
        monitorIntervalSeconds: 1,
        registerInstance: false,
      },
      pollingIntervalSeconds: 0.5,
      heartbeatSeconds: 10,
      shutdownTimeoutMs: 5000,
      ...options,
    });
    schedulers.push(scheduler);
    await scheduler.start();
    return scheduler;
  };

  const send = (scheduler: Scheduler, pipeline: string, id: string, body: unknown) => {
    const ts = Math.floor(Date.now() / 1000);
    const rawBody = Buffer.from(JSON.stringify(body));
    return scheduler.handleWebhook(pipeline, {
      rawBody,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(SECRET, id, ts, rawBody),
      },
    });
  };

  /** A drain the way the server's executor does it: read after the checkpoint, deliver, remove. */
  const draining = (pipeline: string, delivered: JsonObject[], drains: string[]): ExecuteRun => {
    let checkpoint = 0;
    return async (run) => {
      const params = inboxDrainParams(run.params);
      expect(params).toEqual({ maxRecords: 1000, maxWaitMs: 100 });
      drains.push(run.id);
      const entries = await env!.store.webhookInbox.read(pipeline, {
        after: checkpoint,
        limit: 1000,
      });
      if (entries.length > 0) {
        checkpoint = entries.at(-1)!.position;
        await env!.store.webhookInbox.remove(pipeline, checkpoint);
      }
      for (const entry of entries) delivered.push(...entry.records);
      return { counts: { read: entries.length, delivered: entries.length } };
    };
  };

  it('accept deliveries into the inbox, absorb copies, and coalesce drain runs', async () => {
    const pipeline = 'inbox-coalesce';
    const delivered: JsonObject[] = [];
    const drains: string[] = [];
    const scheduler = await start({
      pipelines: [
        {
          name: pipeline,
          webhook: {
            scheme: 'standard-webhooks',
            secret: SECRET,
            payload: 'records',
            delivery: 'inbox',
            inbox: { maxWaitMs: 100 },
          },
        },
      ],
      execute: draining(pipeline, delivered, drains),
    });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => send(scheduler, pipeline, `msg_${i}`, [{ i }])),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    expect(answers[0]!.body).toMatchObject({
      deliveryId: 'msg_0',
      inbox: { position: expect.any(Number) },
    });
    expect(await send(scheduler, pipeline, 'msg_7', [{ i: 7 }])).toEqual({
      status: 200,
      body: { deliveryId: 'msg_7', duplicate: true },
    });
    await waitFor(() => delivered.length >= 200, { what: 'every delivery drained' });
    await waitFor(async () => (await env!.store.webhookInbox.depth(pipeline)) === 0);
    expect(delivered.map((r) => r.i).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    // 200 deliveries at once: a handful of drain runs, not 200.
    expect(drains.length).toBeGreaterThanOrEqual(1);
    expect(drains.length).toBeLessThan(20);
  });

  it('answer 429 past maxDepth, counted as a refusal, and drain on start what was accepted before', async () => {
    const pipeline = 'inbox-full';
    const refusals: TriggerRefusal[] = [];
    const trigger = {
      name: pipeline,
      webhook: {
        scheme: 'standard-webhooks' as const,
        secret: SECRET,
        payload: 'records' as const,
        delivery: 'inbox' as const,
        inbox: { maxDepth: 3, maxWaitMs: 100 },
      },
    };
    // An instance that accepts but executes nothing (as if it were killed before a drain ran).
    const front = await start({
      pipelines: [trigger],
      execute: async () => ({ counts: {} }),
      worker: false,
      backlogRetryAfterSeconds: 4,
      onTriggerRefused: (r) => refusals.push(r),
    });
    for (const i of [1, 2, 3])
      expect((await send(front, pipeline, `full_${i}`, { i })).status).toBe(202);
    expect(await send(front, pipeline, 'full_4', { i: 4 })).toEqual({
      status: 429,
      body: {
        error: expect.stringContaining('webhook.inbox.maxDepth 3'),
        reason: 'backlog-full',
        retryAfterSeconds: 4,
      },
    });
    expect(refusals).toEqual([
      expect.objectContaining({
        pipeline,
        trigger: 'webhook',
        reason: 'inbox-full',
        queued: 3,
        maxQueuedRuns: 3,
      }),
    ]);
    // A copy of an accepted delivery is still a duplicate while the inbox is full.
    expect((await send(front, pipeline, 'full_2', { i: 2 })).status).toBe(200);
    await front.stop();
    // The drain runs the first instance enqueued are in the queue; a new instance with workers
    // also resumes on start. Either way every accepted delivery is routed once.
    const delivered: JsonObject[] = [];
    await start({
      pipelines: [trigger],
      execute: draining(pipeline, delivered, []),
    });
    await waitFor(() => delivered.length >= 3, { what: 'the accepted deliveries drained' });
    expect(delivered.map((r) => r.i).sort()).toEqual([1, 2, 3]);
    // Room again: the refused id is accepted now.
    const back = schedulers.at(-1)!;
    expect((await send(back, pipeline, 'full_4', { i: 4 })).status).toBe(202);
    await waitFor(() => delivered.length >= 4, { what: 'the retried delivery drained' });
    expect(delivered.map((r) => r.i).sort()).toEqual([1, 2, 3, 4]);
  });

  it('refuse delivery inbox without payload records or with overlapping runs, naming the field', async () => {
    await expect(
      start({
        pipelines: [
          { name: 'bad', webhook: { scheme: 'none', delivery: 'inbox' }, allowOverlap: true },
        ],
        execute: async () => ({ counts: {} }),
      }),
    ).rejects.toThrow(/webhook\.delivery: delivery inbox needs payload records[\s\S]*allowOverlap/);
  });
});
