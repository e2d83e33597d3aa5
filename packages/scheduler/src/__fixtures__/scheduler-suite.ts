/**
 * The scheduler test suite shared by the PostgreSQL and the PGlite test files: every behaviour
 * that does not need several processes. Not exported from the package.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { FatalError, RetryableError, createNoopLogger, type RunRecord } from '@sluice/core';
import type { ConstructorOptions, PgBoss } from 'pg-boss';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BacklogFullError, type TriggerRefusal } from '../backlog.js';
import { runSlotKey } from '../run-queue.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from '../scheduler.js';
import type { ExecuteRun, SchedulerStores } from '../types.js';
import { UnclaimedRunSweeper } from '../unclaimed-runs.js';
import { signStandardWebhook } from '../webhooks/standard-webhooks.js';
import { runEnded, sleep, waitFor } from './wait.js';

/** What each backend provides to the suite. */
export interface SuiteEnvironment {
  stores: SchedulerStores;
  /** pg-boss options for the backend's database (without schema). */
  boss: ConstructorOptions;
  close(): Promise<void>;
}

const SECRET = 'whsec_' + Buffer.from('sluice scheduler suite secret').toString('base64');

/**
 * Registers the suite under `name`.
 *
 * @example
 * ```ts
 * defineSchedulerSuite('PGlite', async () => ({ stores: store, boss: store.pgBossDb(), close: () => store.close() }));
 * ```
 */
export function defineSchedulerSuite(name: string, open: () => Promise<SuiteEnvironment>): void {
  describe(`scheduler on ${name}`, () => {
    let env: SuiteEnvironment;
    const schedulers: Scheduler[] = [];
    let counter = 0;
    const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter += 1)}`;

    beforeAll(async () => {
      env = await open();
    }, 120_000);
    afterEach(async () => {
      await Promise.all(schedulers.splice(0).map((s) => s.stop()));
    }, 60_000);
    afterAll(async () => {
      await env?.close();
    }, 60_000);

    const start = async (
      options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'pipelines' | 'execute'>,
      queueName = unique('q'),
    ) => {
      const scheduler = createScheduler({
        stores: env.stores,
        boss: {
          ...env.boss,
          schema: 'sluice_sched_jobs',
          superviseIntervalSeconds: 1,
          monitorIntervalSeconds: 1,
          registerInstance: false,
        },
        queueName,
        pollingIntervalSeconds: 0.5,
        heartbeatSeconds: 10,
        cancelCheckMs: 200,
        shutdownTimeoutMs: 5000,
        ...options,
      });
      schedulers.push(scheduler);
      await scheduler.start();
      return scheduler;
    };
    const finished = (id: string, timeoutMs = 30_000) => runEnded(env.stores.runs, id, timeoutMs);

    it('runs an API-triggered run with its parameters and records counts and logs', async () => {
      const pipeline = unique('api');
      const seen: RunRecord[] = [];
      const execute: ExecuteRun = async (run, { log }) => {
        seen.push(run);
        log.info({ rows: 3 }, 'read a page');
        return { counts: { read: 3, delivered: 3 } };
      };
      const scheduler = await start({ pipelines: [{ name: pipeline }], execute });
      const { runId, created } = await scheduler.trigger(pipeline, {
        params: { date: '2026-11-24' },
      });
      expect(created).toBe(true);
      const run = await finished(runId);
      expect(run).toMatchObject({
        status: 'succeeded',
        trigger: 'api',
        params: { date: '2026-11-24' },
        attempt: 1,
      });
      expect(run.counts).toMatchObject({ read: 3, delivered: 3 });
      expect(seen).toHaveLength(1);
      const logs = await env.stores.runs.listLogs(runId);
      expect(logs.map((l) => l.message)).toContain('read a page');
    });

    it('refuses an unknown pipeline with a ConfigError naming it', async () => {
      const scheduler = await start({
        pipelines: [{ name: unique('known') }],
        execute: async () => ({}),
      });
      await expect(scheduler.trigger('nope')).rejects.toThrow(/unknown pipeline "nope"/);
    });

    it('never overlaps runs of one pipeline, and caps a pipeline that allows overlap', async () => {
      const serial = unique('serial');
      const parallel = unique('parallel');
      const running = new Map<string, number>();
      const peak = new Map<string, number>();
      const execute: ExecuteRun = async (run) => {
        const now = (running.get(run.pipeline) ?? 0) + 1;
        running.set(run.pipeline, now);
        peak.set(run.pipeline, Math.max(peak.get(run.pipeline) ?? 0, now));
        await sleep(300);
        running.set(run.pipeline, (running.get(run.pipeline) ?? 1) - 1);
        return {};
      };
      const queueName = unique('q');
      const pipelines = [{ name: serial }, { name: parallel, allowOverlap: true, concurrency: 2 }];
      // Two instances on one queue: the limit holds across them.
      const a = await start({ pipelines, execute, concurrency: 4 }, queueName);
      await start({ pipelines, execute, concurrency: 4 }, queueName);
      const ids = [];
      for (let i = 0; i < 4; i += 1)
        ids.push((await a.trigger(serial)).runId, (await a.trigger(parallel)).runId);
      for (const id of ids) expect((await finished(id)).status).toBe('succeeded');
      expect(peak.get(serial)).toBe(1);
      expect(peak.get(parallel)).toBeLessThanOrEqual(2);
    });

    it('claims runs in batches, and a long run of a batch holds its own slot only (issue 20)', async () => {
      const pipeline = unique('batched');
      let releaseLong: (() => void) | undefined;
      const execute: ExecuteRun = async (run) => {
        if (run.params.long) await new Promise<void>((resolve) => (releaseLong = resolve));
        return { counts: { read: 1 } };
      };
      // The instance runs every slot of the pipeline, so its workers claim up to 2 runs a fetch.
      const scheduler = await start({
        pipelines: [{ name: pipeline, allowOverlap: true, concurrency: 2 }],
        execute,
        concurrency: 2,
      });
      // Runs spread over the slots by a hash of their id: the short runs take the other slot.
      const longId = randomUUID();
      const otherSlot = () => {
        let id = randomUUID();
        while (runSlotKey(pipeline, 2, id) === runSlotKey(pipeline, 2, longId)) id = randomUUID();
        return id;
      };
      const [long, first] = await Promise.all([
        scheduler.trigger(pipeline, { runId: longId, params: { long: true } }),
        scheduler.trigger(pipeline, { runId: otherSlot(), params: {} }),
      ]);
      expect((await finished(first.runId)).status).toBe('succeeded');
      // While the long run holds one slot, the other keeps running the pipeline's next runs.
      for (let i = 0; i < 3; i += 1) {
        const { runId } = await scheduler.trigger(pipeline, { runId: otherSlot(), params: { i } });
        expect((await finished(runId)).status).toBe('succeeded');
      }
      expect((await env.stores.runs.get(long.runId))?.status).toBe('running');
      await waitFor(() => releaseLong !== undefined, { what: 'the long run started' });
      releaseLong!();
      expect((await finished(long.runId)).status).toBe('succeeded');
    });

    it('retries a failing run with backoff, and fails a fatal error at once', async () => {
      const flaky = unique('flaky');
      const fatal = unique('fatal');
      let tries = 0;
      const execute: ExecuteRun = async (run) => {
        if (run.pipeline === fatal) throw new FatalError('credentials rejected');
        tries += 1;
        if (tries < 3) throw new RetryableError(`busy (${tries})`);
        return { counts: { read: 1 } };
      };
      const retry = { maxAttempts: 4, initialDelayMs: 1000, multiplier: 1 };
      const scheduler = await start({
        pipelines: [
          { name: flaky, retry },
          { name: fatal, retry },
        ],
        execute,
      });
      const ok = await finished((await scheduler.trigger(flaky)).runId);
      expect(ok).toMatchObject({ status: 'succeeded', attempt: 3 });
      const logs = await env.stores.runs.listLogs(ok.id);
      expect(logs.filter((l) => l.message.includes('will be retried'))).toHaveLength(2);
      const failed = await finished((await scheduler.trigger(fatal)).runId);
      expect(failed).toMatchObject({
        status: 'failed',
        attempt: 1,
        error: { name: 'FatalError', message: 'credentials rejected', code: 'SLUICE_ERR_FATAL' },
      });
    });

    it('fails a throwing run at once when its pipeline allows no retries', async () => {
      const pipeline = unique('noretry');
      let calls = 0;
      const execute: ExecuteRun = async () => {
        calls += 1;
        throw new RetryableError('source busy');
      };
      const scheduler = await start({
        pipelines: [{ name: pipeline, retry: { maxAttempts: 1 } }],
        execute,
      });
      const run = await finished((await scheduler.trigger(pipeline)).runId);
      expect(run).toMatchObject({
        status: 'failed',
        attempt: 1,
        error: { name: 'RetryableError', message: 'source busy' },
      });
      // Nothing comes back later: the job was completed, no retry job was enqueued.
      await sleep(1500);
      expect(calls).toBe(1);
      expect((await env.stores.runs.get(run.id))?.status).toBe('failed');
    });

    // A worker that claims the run's job, marks the run running and dies before recording
    // anything: what pg-boss does after the heartbeat lapses is fail the job, as here.
    const crashOnce = async (scheduler: Scheduler, pipeline: string) => {
      // The public type of queue.boss is its lifecycle only; this test drives pg-boss itself.
      const boss = scheduler.queue.boss as PgBoss;
      const queueName = scheduler.queue.queueOf(pipeline);
      const [job] = await boss.fetch<{ runId: string }>(queueName);
      if (!job) throw new Error('no job to claim');
      await env.stores.runs.markRunning(job.data.runId);
      await boss.fail(queueName, job, { message: 'job heartbeat timeout' });
      return job.retryCount;
    };

    it('takes over a run at most maxTakeovers times, then fails it without executing it again', async () => {
      const pipeline = unique('takeovers');
      const queueName = unique('q');
      let calls = 0;
      const execute: ExecuteRun = async () => {
        calls += 1;
        return {};
      };
      const options = {
        pipelines: [{ name: pipeline, retry: { maxAttempts: 1 } }],
        execute,
        maxTakeovers: 1,
      };
      const api = await start({ ...options, worker: false }, queueName);
      const { runId } = await api.trigger(pipeline);
      expect([await crashOnce(api, pipeline), await crashOnce(api, pipeline)]).toEqual([0, 1]);
      await start(options, queueName);
      const run = await finished(runId);
      expect(run).toMatchObject({
        status: 'failed',
        attempt: 2,
        error: { name: 'RunTakeoverLimitError' },
      });
      expect(run.error?.message).toMatch(/2 time\(s\).*maxTakeovers: 1/);
      expect(calls).toBe(0);
      expect(() =>
        createScheduler({ ...options, stores: env.stores, boss: env.boss, maxTakeovers: -1 }),
      ).toThrow(/maxTakeovers/);
    });

    it('fails a run that no instance able to execute it claims within the bound, never while a run of its pipeline executes (issue 23)', async () => {
      const pipeline = unique('unclaimed');
      const api = await start({
        pipelines: [{ name: pipeline }],
        execute: async () => ({}),
        worker: false,
        pipelineVersion: () => 4,
      });
      const boss = api.queue.boss as PgBoss;
      const queueName = api.queue.queueOf(pipeline);
      let now = Date.now();
      const sweeper = new UnclaimedRunSweeper({
        queue: api.queue,
        runs: env.stores.runs,
        logger: createNoopLogger(),
        timeoutSeconds: 10,
        now: () => now,
      });
      // A worker holds the first run: the second waits for the pipeline, not for a worker.
      const { runId: first } = await api.trigger(pipeline);
      const [claimed] = await boss.fetch<{ runId: string }>(queueName);
      expect(claimed?.id).toBe(first);
      const { runId } = await api.trigger(pipeline);
      expect(await sweeper.sweep()).toEqual([]);
      now += 60_000;
      expect(await sweeper.sweep()).toEqual([]);
      expect(await api.queue.cancelIfQueued(queueName, first)).toBe(false);
      await boss.complete(queueName, first);
      // From now on it waits for nothing but a worker, and none can execute it.
      expect(await sweeper.sweep()).toEqual([]);
      now += 9_000;
      expect(await sweeper.sweep()).toEqual([]);
      now += 1_000;
      expect(await sweeper.sweep()).toEqual([runId]);
      const run = await env.stores.runs.get(runId);
      expect(run).toMatchObject({
        status: 'failed',
        startedAt: null,
        pipelineVersion: 4,
        error: { name: 'RunUnclaimedError', code: 'SLUICE_ERR_FATAL' },
      });
      expect(run?.error?.message).toContain(`version 4 of pipeline "${pipeline}"`);
      expect((await boss.getJobById(queueName, runId))?.state).toBe('cancelled');
      expect(await sweeper.sweep()).toEqual([]);
    });

    it('fails a run whose job pg-boss gave up on, so no run stays running without a job', async () => {
      const pipeline = unique('abandoned');
      const queueName = unique('q');
      const options = {
        pipelines: [{ name: pipeline }],
        execute: async () => ({}),
        maxTakeovers: 1,
      };
      const api = await start({ ...options, worker: false }, queueName);
      const { runId } = await api.trigger(pipeline);
      // maxTakeovers + 2 claims that end without an outcome exhaust the job's pg-boss retries.
      for (let i = 0; i < 3; i += 1) await crashOnce(api, pipeline);
      expect((await env.stores.runs.get(runId))?.status).toBe('running');
      await start(options, queueName);
      const run = await finished(runId);
      expect(run).toMatchObject({
        status: 'failed',
        attempt: 3,
        error: { name: 'RunAbandonedError' },
      });
      expect(run.error?.message).toBe(
        'the job queue gave up on the run after 3 attempt(s) without an outcome (last: job heartbeat timeout)',
      );
    });

    it('aborts a run at its timeout and fails it when no retry is left', async () => {
      const slow = unique('slow');
      let aborted = false;
      const execute: ExecuteRun = (_run, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(signal.reason);
          });
        });
      const scheduler = await start({
        pipelines: [{ name: slow, timeoutMs: 1000, retry: { maxAttempts: 1 } }],
        execute,
      });
      const run = await finished((await scheduler.trigger(slow)).runId);
      expect(run.status).toBe('failed');
      expect(run.error?.message).toMatch(/timeout of 1000 ms/);
      expect(aborted).toBe(true);
    });

    it('cancels a running run through its signal, and a queued run before it starts', async () => {
      const pipeline = unique('cancel');
      const started: string[] = [];
      const execute: ExecuteRun = (run, { signal }) => {
        started.push(run.id);
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      };
      const scheduler = await start({ pipelines: [{ name: pipeline }], execute });
      const running = await scheduler.trigger(pipeline);
      await waitFor(() => started.includes(running.runId), { what: 'the run to start' });
      const queued = await scheduler.trigger(pipeline, { startAfterMs: Date.now() + 60_000 });
      expect((await scheduler.cancel(queued.runId))?.status).toBe('cancelled');
      // Cancel through the store only, as another instance's API would: the worker polls.
      await env.stores.runs.requestCancel(running.runId);
      expect((await finished(running.runId)).status).toBe('cancelled');
      expect(started).not.toContain(queued.runId);
      expect(await scheduler.cancel('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('stop() reports the runs in flight: finished within the grace period, or handed back', async () => {
      const quick = unique('stop-quick');
      const stuck = unique('stop-stuck');
      const started = new Set<string>();
      let release: () => void = () => {};
      const released = new Promise<void>((r) => (release = r));
      const execute: ExecuteRun = async (run, { signal }) => {
        started.add(run.pipeline);
        if (run.pipeline === quick) {
          await released;
          return { counts: { read: 1 } };
        }
        // Ignores everything but the abort: still running when the grace period ends.
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      };
      const scheduler = await start({
        pipelines: [{ name: quick }, { name: stuck }],
        execute,
        shutdownTimeoutMs: 1500,
      });
      const a = await scheduler.trigger(quick);
      const b = await scheduler.trigger(stuck);
      await waitFor(() => started.size === 2, { what: 'both runs to start' });
      const stopping = scheduler.stop();
      await sleep(200);
      release();
      const report = await stopping;
      expect(report.finished).toBe(1);
      expect(report.requeued).toBe(1);
      const byId = new Map(report.runs.map((r) => [r.runId, r]));
      expect(byId.get(a.runId)).toEqual({ runId: a.runId, pipeline: quick, outcome: 'succeeded' });
      expect(byId.get(b.runId)?.pipeline).toBe(stuck);
      expect(['handed-back', 'unfinished']).toContain(byId.get(b.runId)?.outcome);
      expect((await env.stores.runs.get(a.runId))?.status).toBe('succeeded');
      expect((await env.stores.runs.get(b.runId))?.status).toBe('running');
      // Stopping again reports nothing new.
      expect(await scheduler.stop()).toEqual({ finished: 0, requeued: 0, runs: [] });
    });

    it('turns a verified webhook into one run, answers its copies with that run, and rejects bad signatures and oversize bodies', async () => {
      const pipeline = unique('hook');
      const records = unique('hookrec');
      const inputs: unknown[] = [];
      const execute: ExecuteRun = async (run) => {
        inputs.push(run.params.input ?? run.params.records);
        return {};
      };
      const scheduler = await start({
        pipelines: [
          {
            name: pipeline,
            webhook: { scheme: 'standard-webhooks', secret: SECRET, maxBodyBytes: 200 },
          },
          {
            name: records,
            webhook: { scheme: 'standard-webhooks', secret: SECRET, payload: 'records' },
          },
        ],
        execute,
      });
      const send = (
        target: string,
        body: string,
        id = unique('msg'),
        over: Record<string, string> = {},
      ) => {
        const ts = Math.floor(Date.now() / 1000);
        const rawBody = Buffer.from(body);
        return scheduler.handleWebhook(target, {
          rawBody,
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': signStandardWebhook(SECRET, id, ts, rawBody),
            ...over,
          },
        });
      };
      const accepted = await send(pipeline, '{"contact":42}', 'msg_fixed');
      expect(accepted.status).toBe(202);
      const runId = (accepted.body as { runId: string }).runId;
      const run = await finished(runId);
      expect(run).toMatchObject({
        status: 'succeeded',
        trigger: 'webhook',
        params: { input: { contact: 42 }, webhook: { deliveryId: 'msg_fixed' } },
      });
      // A copy of an accepted delivery (a retry or a replay) starts nothing and names the first run.
      expect(await send(pipeline, '{"contact":42}', 'msg_fixed')).toEqual({
        status: 200,
        body: { runId, deliveryId: 'msg_fixed', duplicate: true },
      });
      const copies = await Promise.all(
        [1, 2, 3, 4, 5].map(() => send(pipeline, '{"contact":7}', 'msg_concurrent')),
      );
      expect(copies.map((c) => c.status).sort()).toEqual([200, 200, 200, 200, 202]);
      expect(new Set(copies.map((c) => (c.body as { runId: string }).runId)).size).toBe(1);
      expect(await finished((copies[0]!.body as { runId: string }).runId)).toMatchObject({
        status: 'succeeded',
        params: { input: { contact: 7 } },
      });
      expect(
        await send(pipeline, '{"contact":42}', undefined, { 'webhook-signature': 'v1,AAAA' }),
      ).toMatchObject({ status: 401, body: { reason: 'bad-signature' } });
      expect(await send(pipeline, JSON.stringify({ pad: 'x'.repeat(300) }))).toMatchObject({
        status: 413,
        body: { reason: 'too-large' },
      });
      expect(await send(pipeline, '{not json')).toMatchObject({
        status: 400,
        body: { reason: 'invalid-payload' },
      });
      expect(await send('missing', '{}')).toMatchObject({ status: 404 });
      const batch = await send(records, '[{"id":1},{"id":2}]');
      await finished((batch.body as { runId: string }).runId);
      expect(inputs).toContainEqual([{ id: 1 }, { id: 2 }]);
      expect(await send(records, '[{"id":1},7]')).toMatchObject({
        status: 400,
        body: { error: 'records[1]: expected a JSON object' },
      });
    });

    it('refuses webhook and API triggers past maxQueuedRuns, never a duplicate delivery or the enqueue path of cron ticks (issue 20)', async () => {
      const pipeline = unique('bounded');
      const refusals: TriggerRefusal[] = [];
      // A trigger-only instance: nothing claims the runs, so they stay queued.
      const scheduler = await start({
        pipelines: [
          {
            name: pipeline,
            webhook: { scheme: 'standard-webhooks', secret: SECRET },
            maxQueuedRuns: 2,
          },
        ],
        execute: async () => ({}),
        worker: false,
        backlogRetryAfterSeconds: 7,
        onTriggerRefused: (refusal) => refusals.push(refusal),
      });
      const send = (id: string) => {
        const ts = Math.floor(Date.now() / 1000);
        const rawBody = Buffer.from('{"n":1}');
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
      const first = await send('msg_first');
      expect(first.status).toBe(202);
      await scheduler.trigger(pipeline);
      expect(await env.stores.runs.countQueued(pipeline)).toBe(2);

      const refused = await scheduler.trigger(pipeline).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(BacklogFullError);
      expect(refused).toMatchObject({
        code: 'SLUICE_ERR_BACKLOG_FULL',
        pipeline,
        queued: 2,
        maxQueuedRuns: 2,
        retryAfterSeconds: 7,
      });
      expect(await send('msg_refused')).toMatchObject({
        status: 429,
        body: { reason: 'backlog-full', retryAfterSeconds: 7 },
      });
      // A copy of the accepted delivery still names its run.
      expect(await send('msg_first')).toMatchObject({
        status: 200,
        body: { duplicate: true, runId: (first.body as { runId: string }).runId },
      });
      // Replays and the enqueue path (cron ticks, backfill chunks) are not bounded.
      await scheduler.trigger(pipeline, { trigger: 'replay' });
      await scheduler.enqueue({ pipeline, trigger: 'cron' });
      expect(await env.stores.runs.countQueued(pipeline)).toBe(4);
      expect(refusals.map((r) => [r.trigger, r.reason, r.queued])).toEqual([
        ['api', 'backlog-full', 2],
        ['webhook', 'backlog-full', 2],
      ]);

      // Room again (a queued run cancelled): the refused delivery's retry, same id, is queued.
      const queued = (await env.stores.runs.list({ pipeline, status: 'queued' })).items;
      for (const run of queued) await env.stores.runs.requestCancel(run.id);
      expect(await send('msg_refused')).toMatchObject({ status: 202 });
      expect(() =>
        createScheduler({
          pipelines: [],
          stores: env.stores,
          boss: env.boss,
          execute: async () => ({}),
          maxQueuedRuns: 0,
        }),
      ).toThrow(/maxQueuedRuns/);
    });

    it('splits a backfill into chunk runs and resumes only the chunks that failed', async () => {
      const pipeline = unique('backfill');
      const failOnce = new Set(['2026-01-03']);
      const ranges: string[] = [];
      const execute: ExecuteRun = async (run) => {
        const from = String(run.params.from);
        ranges.push(`${from}..${String(run.params.to)}`);
        if (failOnce.delete(from)) throw new FatalError('source refused this day');
        return {};
      };
      const scheduler = await start({
        pipelines: [{ name: pipeline, retry: { maxAttempts: 1 } }],
        execute,
      });
      const first = await scheduler.backfill(pipeline, {
        from: '2026-01-01',
        to: '2026-01-05',
        chunkDays: 2,
        params: { property: 'ga4' },
      });
      expect(first.chunks.map((c) => [c.from, c.to, c.action])).toEqual([
        ['2026-01-01', '2026-01-02', 'enqueued'],
        ['2026-01-03', '2026-01-04', 'enqueued'],
        ['2026-01-05', '2026-01-05', 'enqueued'],
      ]);
      const outcomes = await Promise.all(first.chunks.map((c) => finished(c.runId)));
      expect(outcomes.map((r) => r.status)).toEqual(['succeeded', 'failed', 'succeeded']);
      expect(outcomes[0]!.params).toMatchObject({
        property: 'ga4',
        backfill: { id: first.backfillId, index: 0, chunks: 3 },
      });
      const resumed = await scheduler.backfill(pipeline, {
        from: '2026-01-01',
        to: '2026-01-05',
        chunkDays: 2,
        params: { property: 'ga4' },
      });
      expect(resumed.backfillId).toBe(first.backfillId);
      expect(resumed.chunks.map((c) => c.action)).toEqual(['kept', 'retried', 'kept']);
      const retried = await finished(resumed.chunks[1]!.runId);
      expect(retried).toMatchObject({ status: 'succeeded', parentRunId: first.chunks[1]!.runId });
      expect(ranges.filter((r) => r === '2026-01-03..2026-01-04')).toHaveLength(2);
      await expect(
        scheduler.backfill(pipeline, { from: '2026-01-05', to: '2026-01-01' }),
      ).rejects.toThrow(/to: must not be before from/);
    });

    it('fires a per-second cron once per tick across two instances', async () => {
      const pipeline = unique('cron');
      const ticks: string[] = [];
      const execute: ExecuteRun = async (run) => {
        ticks.push(String(run.params.tick));
        return {};
      };
      const pipelines = [
        { name: pipeline, cron: { expression: '* * * * * *' }, allowOverlap: true, concurrency: 4 },
      ];
      const queueName = unique('q');
      await start({ pipelines, execute }, queueName);
      await start({ pipelines, execute }, queueName);
      await sleep(4500);
      await Promise.all(schedulers.splice(0).map((s) => s.stop()));
      const fired = (await env.stores.runs.list({ pipeline, limit: 100 })).items;
      const tickTimes = fired.map((r) => Date.parse(String(r.params.tick))).sort((x, y) => x - y);
      expect(tickTimes.length).toBeGreaterThanOrEqual(3);
      expect(new Set(tickTimes).size).toBe(tickTimes.length);
      for (let i = 1; i < tickTimes.length; i += 1)
        expect(tickTimes[i]! - tickTimes[i - 1]!).toBe(1000);
      expect(new Set(ticks).size).toBe(ticks.length);
      expect(await env.stores.scheduleState.getLastTick(pipeline, 'cron')).toBe(
        new Date(tickTimes.at(-1)!).toISOString(),
      );
    });

    it('catches up at most catchUpMax missed ticks after downtime, or skips them', async () => {
      const catchUp = unique('catchup');
      const skip = unique('skip');
      const longAgo = new Date(
        Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000,
      ).toISOString();
      await env.stores.scheduleState.setLastTick(catchUp, 'cron', longAgo);
      await env.stores.scheduleState.setLastTick(skip, 'cron', longAgo);
      await start({
        pipelines: [
          {
            name: catchUp,
            cron: { expression: '* * * * *', missed: 'catch-up', catchUpMax: 3 },
            allowOverlap: true,
          },
          { name: skip, cron: { expression: '* * * * *', missed: 'skip' } },
        ],
        execute: async () => ({}),
      });
      const tickTimes = (await env.stores.runs.list({ pipeline: catchUp })).items
        .map((r) => Date.parse(String(r.params.tick)))
        .sort((x, y) => x - y);
      // Three missed minutes, plus the current minute when start-up fell within its grace window.
      expect(tickTimes.length === 3 || tickTimes.length === 4).toBe(true);
      for (let i = 1; i < tickTimes.length; i += 1)
        expect(tickTimes[i]! - tickTimes[i - 1]!).toBe(60_000);
      expect(tickTimes[0]!).toBeGreaterThan(Date.parse(longAgo) + 5 * 60_000);
      expect(Date.now() - tickTimes.at(-1)!).toBeLessThan(2 * 60_000);
      // Skip fires at most the current minute, if start-up fell within its grace window.
      expect((await env.stores.runs.list({ pipeline: skip })).items.length).toBeLessThanOrEqual(1);
    });
  });
}
