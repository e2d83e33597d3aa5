import { ConfigError, type DeadLetter, type RunBreakdown, type SluiceStore } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  openTestPGlite,
  uniqueSchema,
  withClient,
  type TestDatabase,
  type TestPGlite,
} from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';

interface Backend {
  name: string;
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

let database: TestDatabase | undefined;
let shared: TestPGlite | undefined;

const backends: Backend[] = [
  {
    name: 'PostgreSQL',
    async open() {
      database ??= await createTestDatabase('sluice_store_test_repositories');
      return createStore({ url: database.url, schema: uniqueSchema('repo'), maxConnections: 4 });
    },
    async dispose() {
      await database?.drop();
    },
  },
  {
    name: 'PGlite',
    async open() {
      shared ??= await openTestPGlite();
      return createStore({ pglite: shared.pglite, schema: uniqueSchema('repo') });
    },
    async dispose() {
      await shared?.dispose();
    },
  },
];

function letter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    pipeline: 'daily',
    runId: 'run-1',
    route: 'all',
    destination: 'warehouse',
    record: { id: 1, channel: 'email' },
    original: { id: 1, channel: 'Email' },
    error: { name: 'FatalError', message: 'column "x" missing', code: 'SLUICE_ERR_FATAL' },
    attempts: 5,
    failedAt: '2026-11-24T08:00:01.000Z',
    ...overrides,
  };
}

describe.each(backends)('repositories on $name', (backend) => {
  let store: Store;

  beforeAll(async () => {
    store = await backend.open();
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await backend.dispose();
  });

  it('implements the SluiceStore interface of @sluice/core', () => {
    const asCore: SluiceStore = store;
    expect(Object.keys(asCore)).toEqual(
      expect.arrayContaining([
        'runs',
        'checkpoints',
        'deadLetters',
        'scheduleState',
        'webhookDeliveries',
        'pipelines',
      ]),
    );
    return expect(store.ping()).resolves.toBeUndefined();
  });

  describe('runs', () => {
    it('go queued → running → succeeded with timings and counts', async () => {
      const run = await store.runs.create({
        pipeline: 'daily',
        pipelineVersion: 2,
        trigger: 'cron',
        params: { date: '2026-11-24' },
      });
      expect(run).toMatchObject({
        pipeline: 'daily',
        pipelineVersion: 2,
        trigger: 'cron',
        status: 'queued',
        params: { date: '2026-11-24' },
        startedAt: null,
        finishedAt: null,
        counts: { read: 0, delivered: 0, deadLettered: 0, dropped: 0, failed: 0 },
        error: null,
        attempt: 1,
        cancelRequestedAt: null,
      });
      expect(run.parentRunId).toBeUndefined();
      const running = await store.runs.markRunning(run.id, { startedAt: '2026-11-24T08:00:00Z' });
      expect(running).toMatchObject({ status: 'running', startedAt: '2026-11-24T08:00:00.000Z' });
      const done = await store.runs.markFinished(run.id, {
        status: 'succeeded',
        counts: { read: 3_000_000_000, delivered: 10, deadLettered: 2 },
        finishedAt: '2026-11-24T08:00:05Z',
      });
      expect(done).toMatchObject({
        status: 'succeeded',
        finishedAt: '2026-11-24T08:00:05.000Z',
        counts: { read: 3_000_000_000, delivered: 10, deadLettered: 2, dropped: 0, failed: 0 },
      });
      // A finished run never moves again.
      expect(await store.runs.markRunning(run.id)).toMatchObject({
        status: 'succeeded',
        attempt: 1,
      });
      expect(
        await store.runs.markFinished(run.id, {
          status: 'failed',
          error: { name: 'X', message: 'late' },
        }),
      ).toMatchObject({
        status: 'succeeded',
        error: null,
      });
      expect(await store.runs.get(run.id)).toEqual(done);
    });

    it('record the error of a failed run and count re-claims as attempts', async () => {
      const parent = await store.runs.create({ pipeline: 'daily', trigger: 'api' });
      const run = await store.runs.create({
        id: 'retry-of-parent',
        pipeline: 'daily',
        trigger: 'api',
        parentRunId: parent.id,
      });
      expect(run.parentRunId).toBe(parent.id);
      await store.runs.markRunning(run.id);
      expect(await store.runs.markRunning(run.id)).toMatchObject({ status: 'running', attempt: 2 });
      const failed = await store.runs.markFinished(run.id, {
        status: 'failed',
        error: {
          name: 'FatalError',
          message: 'HubSpot rejected the token',
          code: 'SLUICE_ERR_FATAL',
        },
      });
      expect(failed?.error).toEqual({
        name: 'FatalError',
        message: 'HubSpot rejected the token',
        code: 'SLUICE_ERR_FATAL',
      });
    });

    it('cancel a queued run at once and flag a running one', async () => {
      const queued = await store.runs.create({ pipeline: 'cancel', trigger: 'api' });
      const cancelled = await store.runs.requestCancel(queued.id);
      expect(cancelled).toMatchObject({ status: 'cancelled' });
      expect(cancelled?.finishedAt).not.toBeNull();
      expect(await store.runs.markRunning(queued.id)).toMatchObject({ status: 'cancelled' });

      const running = await store.runs.create({ pipeline: 'cancel', trigger: 'api' });
      await store.runs.markRunning(running.id);
      expect(await store.runs.isCancelRequested(running.id)).toBe(false);
      const flagged = await store.runs.requestCancel(running.id);
      expect(flagged).toMatchObject({ status: 'running' });
      expect(flagged?.cancelRequestedAt).not.toBeNull();
      expect(await store.runs.isCancelRequested(running.id)).toBe(true);
      expect(await store.runs.markFinished(running.id, { status: 'cancelled' })).toMatchObject({
        status: 'cancelled',
      });
      expect(await store.runs.isCancelRequested('no-such-run')).toBe(false);
      expect(await store.runs.requestCancel('no-such-run')).toBeUndefined();
    });

    it('list newest first with filters and cursors', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1)
        ids.push(
          (await store.runs.create({ pipeline: 'paged', trigger: i % 2 ? 'webhook' : 'cron' })).id,
        );
      await store.runs.markRunning(ids[4]!);
      const first = await store.runs.list({ pipeline: 'paged', limit: 2 });
      expect(first.items.map((r) => r.id)).toEqual([ids[4], ids[3]]);
      const second = await store.runs.list({
        pipeline: 'paged',
        limit: 2,
        cursor: first.nextCursor,
      });
      expect(second.items.map((r) => r.id)).toEqual([ids[2], ids[1]]);
      const third = await store.runs.list({
        pipeline: 'paged',
        limit: 2,
        cursor: second.nextCursor,
      });
      expect(third).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
      expect(
        (await store.runs.list({ pipeline: 'paged', status: 'running' })).items.map((r) => r.id),
      ).toEqual([ids[4]]);
      expect(
        (await store.runs.list({ pipeline: 'paged', status: ['queued'], trigger: 'webhook' }))
          .items,
      ).toHaveLength(2);
    });

    it('reject bad input naming the field', async () => {
      await expect(store.runs.create({ pipeline: '', trigger: 'cron' })).rejects.toThrow(
        /pipeline/,
      );
      await expect(store.runs.create({ pipeline: 'p', trigger: 'nope' as 'cron' })).rejects.toThrow(
        /trigger/,
      );
      await expect(
        store.runs.create({ pipeline: 'p', trigger: 'cron', parentRunId: 'missing' }),
      ).rejects.toThrow(/parentRunId/);
      await store.runs.create({ id: 'dup', pipeline: 'p', trigger: 'cron' });
      await expect(
        store.runs.create({ id: 'dup', pipeline: 'p', trigger: 'cron' }),
      ).rejects.toThrow(/already exists/);
      await expect(store.runs.list({ limit: 0 })).rejects.toBeInstanceOf(ConfigError);
      await expect(store.runs.list({ cursor: 'garbage' })).rejects.toThrow(/cursor/);
      await expect(
        store.runs.markFinished('dup', { status: 'running' as 'failed' }),
      ).rejects.toThrow(/status/);
      await expect(
        store.runs.markFinished('dup', { status: 'failed', counts: { read: -1 } }),
      ).rejects.toThrow(/counts\.read/);
    });

    it('append and tail logs', async () => {
      const run = await store.runs.create({ pipeline: 'logs', trigger: 'cli' });
      await store.runs.appendLog(run.id, [
        { level: 'info', message: 'started' },
        { level: 'warn', message: 'slow page', fields: { ms: 1200 } },
      ]);
      await store.runs.appendLog(run.id, [
        { level: 'error', message: 'boom', at: '2026-11-24T08:00:00Z' },
      ]);
      const all = await store.runs.listLogs(run.id);
      expect(all.map((l) => [l.level, l.message, l.fields])).toEqual([
        ['info', 'started', null],
        ['warn', 'slow page', { ms: 1200 }],
        ['error', 'boom', null],
      ]);
      expect(all[2]?.at).toBe('2026-11-24T08:00:00.000Z');
      expect(
        (await store.runs.listLogs(run.id, { afterSeq: all[0]!.seq, limit: 1 })).map(
          (l) => l.message,
        ),
      ).toEqual(['slow page']);
      await expect(
        store.runs.appendLog('missing', [{ level: 'info', message: 'x' }]),
      ).rejects.toThrow(/runId/);
      await expect(
        store.runs.appendLog(run.id, [{ level: 'loud' as 'info', message: 'x' }]),
      ).rejects.toThrow(/entries\[0\]\.level/);
    });
    it('sum the counts of runs finished since a time, per pipeline, in one grouped query', async () => {
      const finish = async (
        pipeline: string,
        finishedAt: string | null,
        counts: { read: number; delivered: number; deadLettered?: number },
        status: 'succeeded' | 'failed' = 'succeeded',
      ) => {
        const run = await store.runs.create({ pipeline, trigger: 'api' });
        await store.runs.markRunning(run.id, { startedAt: '2030-01-01T00:00:00Z' });
        if (finishedAt !== null)
          await store.runs.markFinished(run.id, { status, counts, finishedAt });
      };
      await finish('activity-a', '2030-01-02T09:59:59.999Z', { read: 1000, delivered: 1000 });
      await finish('activity-a', '2030-01-02T10:00:00Z', {
        read: 5,
        delivered: 4,
        deadLettered: 1,
      });
      await finish(
        'activity-a',
        '2030-01-02T11:00:00Z',
        { read: 3_000_000_000, delivered: 2 },
        'failed',
      );
      await finish('activity-b', '2030-01-02T12:00:00Z', { read: 7, delivered: 14 });
      await finish('activity-b', null, { read: 0, delivered: 0 }); // still running: left out
      await finish('activity-c', '2030-01-01T00:00:00Z', { read: 9, delivered: 9 }); // too old

      const since = '2030-01-02T10:00:00Z';
      expect(await store.runs.countsSince(since)).toEqual([
        {
          pipeline: 'activity-a',
          runs: 2,
          counts: { read: 3_000_000_005, delivered: 6, deadLettered: 1, dropped: 0, failed: 0 },
        },
        {
          pipeline: 'activity-b',
          runs: 1,
          counts: { read: 7, delivered: 14, deadLettered: 0, dropped: 0, failed: 0 },
        },
      ]);
      expect(await store.runs.countsSince(since, { pipeline: 'activity-b' })).toEqual([
        expect.objectContaining({ pipeline: 'activity-b', runs: 1 }),
      ]);
      expect(await store.runs.countsSince(since, { pipeline: 'activity-c' })).toEqual([]);
      await expect(store.runs.countsSince('yesterday')).rejects.toMatchObject({
        issues: [{ path: 'since' }],
      });
    });

    it('keep the breakdown by route, destination and expectation; runs without one read null', async () => {
      const breakdown: RunBreakdown = {
        routes: {
          email: { matched: 3_000_000_000, produced: 2, droppedByTransform: 1, failed: 0 },
          'the default': { matched: 1, produced: 1, droppedByTransform: 0, failed: 0 },
        },
        destinations: {
          warehouse: {
            delivered: 2,
            failed: 0,
            deadLettered: 1,
            dropped: 0,
            batches: 2,
            retries: 1,
          },
          archive: { delivered: 1, failed: 1, deadLettered: 0, dropped: 2, batches: 1, retries: 0 },
        },
        expectations: {
          email: {
            'has email': {
              check: 'required',
              action: 'dead-letter',
              field: 'email',
              checked: 3,
              violations: 1,
            },
          },
        },
        // A destination's own expectations (`destinations.warehouse.expect`); a route may share its name.
        destinationExpectations: {
          warehouse: {
            'unique:id': {
              check: 'unique',
              action: 'drop',
              field: 'id',
              checked: 3,
              violations: 0,
            },
            'row-count': { check: 'row-count', action: 'warn', checked: 1, violations: 1 },
          },
        },
      };
      const run = await store.runs.create({ pipeline: 'breakdown', trigger: 'api' });
      expect(run.breakdown).toBeNull();
      await store.runs.markRunning(run.id);
      // A failed run stores what it had.
      expect(
        await store.runs.markFinished(run.id, {
          status: 'failed',
          breakdown,
          error: { name: 'X', message: 'y' },
        }),
      ).toMatchObject({ status: 'failed', breakdown });
      expect((await store.runs.get(run.id))?.breakdown).toEqual(breakdown);
      expect((await store.runs.list({ pipeline: 'breakdown' })).items[0]?.breakdown).toEqual(
        breakdown,
      );

      // Rows finished without one (as every row stored before migration 0012) read null.
      const old = await store.runs.create({ pipeline: 'breakdown', trigger: 'api' });
      await store.runs.markRunning(old.id);
      await store.runs.markFinished(old.id, { status: 'succeeded', counts: { read: 1 } });
      expect((await store.runs.get(old.id))?.breakdown).toBeNull();

      const bad = await store.runs.create({ pipeline: 'breakdown', trigger: 'api' });
      await expect(
        store.runs.markFinished(bad.id, {
          status: 'succeeded',
          breakdown: {
            routes: {},
            destinations: { warehouse: { ...breakdown.destinations.warehouse!, delivered: -1 } },
          },
        }),
      ).rejects.toMatchObject({ issues: [{ path: 'breakdown.destinations.warehouse.delivered' }] });
      await expect(
        store.runs.markFinished(bad.id, {
          status: 'succeeded',
          breakdown: { destinations: {} } as unknown as RunBreakdown,
        }),
      ).rejects.toMatchObject({ issues: [{ path: 'breakdown.routes' }] });
      await expect(
        store.runs.markFinished(bad.id, {
          status: 'succeeded',
          breakdown: {
            routes: {},
            destinations: {},
            destinationExpectations: {
              warehouse: {
                'row-count': { check: 'row-count', action: 'warn', checked: 1.5, violations: 0 },
              },
            },
          },
        }),
      ).rejects.toMatchObject({
        issues: [{ path: 'breakdown.destinationExpectations.warehouse.row-count.checked' }],
      });
      expect((await store.runs.get(bad.id))?.status).toBe('queued');
    });
  });

  describe('checkpoints', () => {
    it('keep the latest state per pipeline and stream', async () => {
      expect(await store.checkpoints.get('daily')).toBeUndefined();
      await store.checkpoints.commit('daily', { cursor: '2026-11-23' });
      await store.checkpoints.commit('daily', { cursor: '2026-11-24' });
      await store.checkpoints.commit('daily', ['a', 1], 'contacts');
      await store.checkpoints.commit('daily', null, 'deals');
      expect(await store.checkpoints.get('daily')).toEqual({ cursor: '2026-11-24' });
      expect(await store.checkpoints.get('daily', 'contacts')).toEqual(['a', 1]);
      expect(await store.checkpoints.get('daily', 'deals')).toBeNull();
      expect(await store.checkpoints.get('other')).toBeUndefined();
    });
  });

  describe('dead letters', () => {
    it('are written by the sink, listed, inspected, replayed once and discarded', async () => {
      await store.deadLetters.write([
        letter(),
        letter({ destination: 'slack', record: { id: 2 } }),
        letter({ pipeline: 'other' }),
      ]);
      const page = await store.deadLetters.list({ pipeline: 'daily', limit: 1 });
      expect(page.items).toHaveLength(1);
      const rest = await store.deadLetters.list({ pipeline: 'daily', cursor: page.nextCursor });
      expect(rest.nextCursor).toBeNull();
      const [newest, oldest] = [page.items[0]!, rest.items[0]!];
      expect(newest.destination).toBe('slack');
      expect(oldest).toMatchObject({
        ...letter(),
        status: 'pending',
        replayRunId: null,
        replayedAt: null,
        discardedAt: null,
      });
      expect(await store.deadLetters.get(oldest.id)).toEqual(oldest);
      expect(await store.deadLetters.get('missing')).toBeUndefined();

      const replay = await store.runs.create({
        pipeline: 'daily',
        trigger: 'replay',
        params: { deadLetters: [oldest.id] },
      });
      const [a, b] = await Promise.all([
        store.deadLetters.markReplayed([oldest.id], replay.id),
        store.deadLetters.markReplayed([oldest.id], replay.id),
      ]);
      expect([...a!, ...b!]).toEqual([oldest.id]);
      expect(await store.deadLetters.get(oldest.id)).toMatchObject({
        status: 'replayed',
        replayRunId: replay.id,
      });
      expect(await store.deadLetters.discard([oldest.id, newest.id])).toEqual([newest.id]);
      expect((await store.deadLetters.get(newest.id))?.discardedAt).not.toBeNull();
      expect(
        (await store.deadLetters.list({ pipeline: 'daily', status: 'pending' })).items,
      ).toEqual([]);
      expect(
        (await store.deadLetters.list({ destination: 'warehouse', status: 'replayed' })).items.map(
          (l) => l.id,
        ),
      ).toEqual([oldest.id]);
      expect(await store.deadLetters.markReplayed([], replay.id)).toEqual([]);
    });

    it('keep the source position of a letter (replays deliver at it) and leave it out when there is none', async () => {
      await store.deadLetters.write([
        letter({ pipeline: 'positioned', position: 'run-1-3f9c0a21be-000042' }),
        letter({ pipeline: 'positioned', record: { id: 2 } }),
      ]);
      const { items } = await store.deadLetters.list({ pipeline: 'positioned' });
      expect(items.map((l) => l.position)).toEqual([undefined, 'run-1-3f9c0a21be-000042']);
    });

    it('store a large batch in one call and reject malformed letters naming the field', async () => {
      const many = Array.from({ length: 1200 }, (_, i) =>
        letter({ pipeline: 'bulk', record: { i } }),
      );
      await store.deadLetters.write(many);
      const page = await store.deadLetters.list({ pipeline: 'bulk', limit: 1000 });
      expect(page.items).toHaveLength(1000);
      expect(page.nextCursor).not.toBeNull();
      await expect(
        store.deadLetters.write([letter(), letter({ record: [] as never })]),
      ).rejects.toThrow(/letters\[1\]\.record/);
      await expect(store.deadLetters.write([letter({ failedAt: 'yesterday' })])).rejects.toThrow(
        /letters\[0\]\.failedAt/,
      );
      await expect(store.deadLetters.list({ status: 'lost' as 'pending' })).rejects.toThrow(
        /status/,
      );
    });
  });

  // Regression (found by test/fuzz): jsonb refuses U+0000, so a run whose webhook records held a
  // NUL answered 500, and a dead letter holding one could not be stored at all.
  describe('JSON holding U+0000', () => {
    it('round-trips through run params, dead letters and checkpoints unchanged', async () => {
      const nul = { 'k\u0000': 'a\u0000b', nested: ['\u0000'], '$sluice:json-text': 'look-alike' };
      const run = await store.runs.create({
        pipeline: 'nul',
        trigger: 'webhook',
        params: { records: [nul] },
      });
      expect((await store.runs.get(run.id))!.params).toEqual({ records: [nul] });
      await store.deadLetters.write([
        letter({ pipeline: 'nul', record: nul, original: { s: '\u0000' } }),
      ]);
      const [listed] = (await store.deadLetters.list({ pipeline: 'nul' })).items;
      const stored = await store.deadLetters.get(listed!.id);
      expect(stored!.record).toEqual(nul);
      expect(stored!.original).toEqual({ s: '\u0000' });
      await store.checkpoints.commit('nul', { cursor: 'x\u0000' });
      expect(await store.checkpoints.get('nul')).toEqual({ cursor: 'x\u0000' });
      // An ordinary object that only looks like the wrapper comes back as it was written.
      await store.checkpoints.commit('nul', { '$sluice:json-text': '{"a":1}' });
      expect(await store.checkpoints.get('nul')).toEqual({ '$sluice:json-text': '{"a":1}' });
    });
  });

  describe('schedule ticks', () => {
    it('advance only forwards, so one instance wins each tick', async () => {
      expect(await store.scheduleState.getLastTick('daily', 'morning')).toBeUndefined();
      const tick = '2026-11-24T07:00:00.000Z';
      const wins = await Promise.all(
        [1, 2, 3].map(() => store.scheduleState.setLastTick('daily', 'morning', tick)),
      );
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await store.scheduleState.getLastTick('daily', 'morning')).toBe(tick);
      expect(
        await store.scheduleState.setLastTick('daily', 'morning', '2026-11-23T07:00:00Z'),
      ).toBe(false);
      expect(
        await store.scheduleState.setLastTick('daily', 'morning', '2026-11-25T07:00:00Z'),
      ).toBe(true);
      expect(await store.scheduleState.getLastTick('daily', 'morning')).toBe(
        '2026-11-25T07:00:00.000Z',
      );
      expect(await store.scheduleState.getLastTick('daily', 'evening')).toBeUndefined();
      await expect(store.scheduleState.setLastTick('daily', 'morning', 'soon')).rejects.toThrow(
        /tick/,
      );
    });
  });

  // Webhook deliveries: webhook-deliveries.test.ts (two instances on one schema, races, upgrade).

  describe('versioned configs', () => {
    it('write a new version only when the config changes, keeping old ones', async () => {
      const v1 = await store.pipelines.save('daily', {
        source: 'ga4',
        schedule: { cron: '0 8 * * *' },
      });
      expect(v1).toMatchObject({ name: 'daily', version: 1, changed: true });
      const same = await store.pipelines.save('daily', {
        schedule: { cron: '0 8 * * *' },
        source: 'ga4',
      });
      expect(same).toMatchObject({ version: 1, changed: false });
      const v2 = await store.pipelines.save('daily', { source: 'hubspot' });
      expect(v2).toMatchObject({ version: 2, changed: true, config: { source: 'hubspot' } });
      expect((await store.pipelines.getLatest('daily'))?.version).toBe(2);
      expect((await store.pipelines.getVersion('daily', 1))?.config).toEqual({
        source: 'ga4',
        schedule: { cron: '0 8 * * *' },
      });
      expect((await store.pipelines.listVersions('daily')).map((v) => v.version)).toEqual([2, 1]);
      expect(await store.pipelines.getEntry('daily')).toMatchObject({
        name: 'daily',
        latestVersion: 2,
        enabled: true,
      });
    });

    it('enable, disable, remove and revive by name', async () => {
      await store.schedules.save('morning', {
        pipeline: 'daily',
        cron: '0 8 * * *',
        timezone: 'Europe/Berlin',
      });
      expect(await store.schedules.setEnabled('morning', false)).toBe(true);
      expect((await store.schedules.getEntry('morning'))?.enabled).toBe(false);
      expect(await store.schedules.setEnabled('missing', false)).toBe(false);
      expect(await store.schedules.remove('morning')).toBe(true);
      expect(await store.schedules.remove('morning')).toBe(false);
      expect(await store.schedules.getLatest('morning')).toBeUndefined();
      expect((await store.schedules.list()).map((e) => e.name)).not.toContain('morning');
      const revived = await store.schedules.save('morning', {
        pipeline: 'daily',
        cron: '0 9 * * *',
      });
      expect(revived.version).toBe(2);
      expect((await store.schedules.list()).map((e) => e.name)).toContain('morning');
    });

    it('discard the latest version of a change that could not be applied, and only the latest', async () => {
      await store.pipelines.save('discarded', {
        source: { kind: 'sample' },
        routes: [{ name: 'a', to: ['x'] }],
      });
      const second = await store.pipelines.save('discarded', {
        source: { kind: 'sample' },
        routes: [{ name: 'b', to: ['y'] }],
      });
      expect(second.version).toBe(2);
      expect(await store.pipelines.discardVersion('discarded', 1)).toBe(false); // not the latest
      expect(await store.pipelines.discardVersion('discarded', 2)).toBe(true);
      expect((await store.pipelines.getEntry('discarded'))?.latestVersion).toBe(1);
      expect((await store.pipelines.listVersions('discarded')).map((v) => v.version)).toEqual([1]);
      expect((await store.routes.list('discarded')).map((r) => r.route)).toEqual(['a']);
      // The next save takes the discarded number again: no gap in the history.
      expect(
        (
          await store.pipelines.save('discarded', {
            source: { kind: 'sample' },
            routes: [{ name: 'c', to: ['z'] }],
          })
        ).version,
      ).toBe(2);
      // A name whose only version is discarded is forgotten.
      await store.destinations.save('fresh', { kind: 'file' });
      expect(await store.destinations.discardVersion('fresh', 1)).toBe(true);
      expect(await store.destinations.getEntry('fresh')).toBeUndefined();
      expect(await store.destinations.listVersions('fresh')).toEqual([]);
      expect(await store.destinations.discardVersion('never-saved', 1)).toBe(false);
    });

    it('serialise concurrent saves into consecutive versions', async () => {
      const saved = await Promise.all(
        [1, 2, 3, 4].map((n) => store.destinations.save('warehouse', { kind: 'database', n })),
      );
      expect(saved.map((s) => s.version).sort()).toEqual([1, 2, 3, 4]);
    });

    it('refuse plaintext secrets and store references as given', async () => {
      const config = {
        kind: 'hubspot',
        accessToken: '${env:HUBSPOT_TOKEN}',
        headers: { Authorization: 'Bearer ${file:/run/secrets/token}' },
        url: 'postgres://sluice:${env:PGPASSWORD}@db/sluice',
      };
      expect((await store.connections.save('hubspot', config)).config).toEqual(config);
      const error = await store.connections
        .save('leaky', {
          kind: 'ga4',
          credentials: { private_key: '-----BEGIN' },
          auth: { client_secret: 's3cr3t' },
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((i) => i.path)).toEqual([
        // A structured secret is checked field by field, so the path names the secret field.
        'connections.leaky.credentials.private_key',
        'connections.leaky.auth.client_secret',
      ]);
      await expect(
        store.destinations.save('db', { kind: 'database', url: 'postgres://u:hunter2@db/x' }),
      ).rejects.toThrow(/destinations\.db\.url/);
      await expect(
        store.connections.save(
          'marked',
          { kind: 'custom', key: 'plain' },
          { secretPaths: ['key'] },
        ),
      ).rejects.toThrow(/connections\.marked\.key/);
      expect(await store.connections.getLatest('leaky')).toBeUndefined();
      const rows = await store.db.selectFrom('connection_versions').select('config').execute();
      expect(JSON.stringify(rows)).not.toMatch(/s3cr3t|hunter2|BEGIN/);
    });

    it('reject bad names and configs naming the field', async () => {
      await expect(store.pipelines.save('bad name', {})).rejects.toThrow(/name/);
      await expect(store.pipelines.save('ok', [] as never)).rejects.toThrow(/config/);
    });
  });

  describe('route index', () => {
    it('indexes the routes of each pipeline version and finds users of a destination', async () => {
      await store.pipelines.save('routed', {
        routes: [
          { name: 'all', to: ['warehouse', 's3'] },
          {
            name: 'drops',
            priority: 10,
            when: '$[?@.change < -0.2]',
            to: ['slack'],
            mode: 'continue',
          },
        ],
      });
      expect(
        (await store.routes.list('routed')).map((r) => [r.route, r.priority, r.destinations]),
      ).toEqual([
        ['drops', 10, ['slack']],
        ['all', 0, ['warehouse', 's3']],
      ]);
      expect((await store.routes.usedBy('slack')).map((r) => `${r.pipeline}/${r.route}`)).toEqual([
        'routed/drops',
      ]);
      await store.pipelines.save('routed', { routes: [{ name: 'all', to: ['warehouse'] }] });
      expect(await store.routes.usedBy('slack')).toEqual([]);
      expect((await store.routes.list('routed', 1)).map((r) => r.route)).toEqual(['drops', 'all']);
      await store.pipelines.remove('routed');
      expect(await store.routes.usedBy('warehouse')).toEqual([]);
    });
  });

  it('exposes pg-boss connection options for its backend', () => {
    const options = store.pgBossDb();
    if (store.backend === 'postgres')
      expect(options).toEqual({ connectionString: store.connectionString });
    else
      expect(options).toMatchObject({
        backend: 'pglite',
        db: { executeSql: expect.any(Function) },
      });
  });
});

describe('PostgreSQL connection loss', () => {
  let db: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    db = await createTestDatabase('sluice_store_test_reconnect');
    store = await createStore({ url: db.url, maxConnections: 2 });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('recovers after the server terminates every connection', async () => {
    await Promise.all([store.ping(), store.ping()]);
    const killed = await withClient(db.url, (c) =>
      c.query(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [db.name],
      ),
    );
    expect(killed.rows[0].n).toBeGreaterThanOrEqual(1);
    // The pool learns of the loss from each idle client's error event before handing it out again.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(store.ping()).resolves.toBeUndefined();
    const run = await store.runs.create({ pipeline: 'after-loss', trigger: 'api' });
    expect((await store.runs.get(run.id))?.status).toBe('queued');
  });
});
