// The one-statement run transitions the scheduler's hot path uses (issue 20): create-if-absent at
// enqueue, mark-running that records a missing run, and finish with the run's last log lines.
import { ConfigError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  openTestPGlite,
  uniqueSchema,
  type TestDatabase,
  type TestPGlite,
} from './__fixtures__/databases.js';
import { createStore, type Store } from './create-store.js';

let database: TestDatabase | undefined;
let shared: TestPGlite | undefined;

const backends = [
  {
    name: 'PostgreSQL',
    async open(): Promise<Store> {
      database ??= await createTestDatabase('sluice_store_test_run_claims');
      return createStore({ url: database.url, schema: uniqueSchema('claims'), maxConnections: 4 });
    },
    dispose: () => database?.drop(),
  },
  {
    name: 'PGlite',
    async open(): Promise<Store> {
      shared ??= await openTestPGlite();
      return createStore({ pglite: shared.pglite, schema: uniqueSchema('claims') });
    },
    dispose: () => shared?.dispose(),
  },
];

describe.each(backends)('run claims on $name', (backend) => {
  let store: Store;

  beforeAll(async () => {
    store = await backend.open();
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await backend.dispose();
  });

  it('createIfAbsent records a new run once and leaves an existing one as it is', async () => {
    const first = await store.runs.createIfAbsent({
      id: 'absent-1',
      pipeline: 'claims',
      trigger: 'api',
      params: { a: 1 },
      pipelineVersion: 2,
    });
    expect(first).toMatchObject({ id: 'absent-1', status: 'queued', params: { a: 1 } });
    await store.runs.markRunning('absent-1');
    await expect(
      store.runs.createIfAbsent({ id: 'absent-1', pipeline: 'other', trigger: 'cron' }),
    ).resolves.toBeUndefined();
    expect(await store.runs.get('absent-1')).toMatchObject({
      pipeline: 'claims',
      status: 'running',
      pipelineVersion: 2,
    });
    await expect(
      store.runs.createIfAbsent({ id: 'absent-2', pipeline: 'claims', trigger: 'loud' as 'api' }),
    ).rejects.toThrow(/trigger/);
    const orphan = store.runs.createIfAbsent({
      id: 'absent-3',
      pipeline: 'claims',
      trigger: 'replay',
      parentRunId: 'no-such-run',
    });
    await expect(orphan).rejects.toBeInstanceOf(ConfigError);
    await expect(orphan).rejects.toThrow(/parentRunId/);
  });

  it('markRunning with ifMissing records a missing run running, and re-claims count attempts', async () => {
    const ifMissing = {
      pipeline: 'claims',
      trigger: 'webhook' as const,
      params: { records: [1] },
      queuedAt: '2026-12-04T01:00:00.000Z',
    };
    const started = await store.runs.markRunning('missing-1', {
      ifMissing,
      startedAt: '2026-12-04T01:00:01.000Z',
    });
    expect(started).toMatchObject({
      id: 'missing-1',
      status: 'running',
      attempt: 1,
      trigger: 'webhook',
      params: { records: [1] },
      queuedAt: '2026-12-04T01:00:00.000Z',
      startedAt: '2026-12-04T01:00:01.000Z',
    });
    // The enqueuer writing the record afterwards changes nothing.
    await expect(
      store.runs.createIfAbsent({ id: 'missing-1', ...ifMissing }),
    ).resolves.toBeUndefined();
    const again = await store.runs.markRunning('missing-1', { ifMissing });
    expect(again).toMatchObject({
      status: 'running',
      attempt: 2,
      startedAt: '2026-12-04T01:00:01.000Z',
    });

    // A queued run is claimed like without ifMissing; a finished one is returned unchanged.
    await store.runs.create({ id: 'queued-1', pipeline: 'claims', trigger: 'api' });
    expect(await store.runs.markRunning('queued-1', { ifMissing })).toMatchObject({
      status: 'running',
      attempt: 1,
      trigger: 'api',
    });
    await store.runs.create({ id: 'cancelled-1', pipeline: 'claims', trigger: 'api' });
    await store.runs.requestCancel('cancelled-1');
    expect(await store.runs.markRunning('cancelled-1', { ifMissing })).toMatchObject({
      status: 'cancelled',
      startedAt: null,
    });
    await expect(store.runs.markRunning('missing-2')).resolves.toBeUndefined();
  });

  it('markFinished stores its log lines after the earlier ones, in the same call', async () => {
    const run = await store.runs.create({ pipeline: 'claims', trigger: 'api' });
    await store.runs.markRunning(run.id);
    await store.runs.appendLog(run.id, [{ level: 'info', message: 'page read' }]);
    const finished = await store.runs.markFinished(run.id, {
      status: 'succeeded',
      counts: { read: 3, delivered: 3 },
      log: [
        { level: 'info', message: 'run succeeded', fields: { counts: { read: 3 } } },
        { level: 'warn', message: 'and a second line', at: '2026-12-04T01:00:00Z' },
      ],
    });
    expect(finished).toMatchObject({ status: 'succeeded', counts: { read: 3, delivered: 3 } });
    const logs = await store.runs.listLogs(run.id);
    expect(logs.map((l) => [l.level, l.message, l.fields])).toEqual([
      ['info', 'page read', null],
      ['info', 'run succeeded', { counts: { read: 3 } }],
      ['warn', 'and a second line', null],
    ]);
    expect(logs[2]?.at).toBe('2026-12-04T01:00:00.000Z');

    // A run that already ended keeps its outcome; the lines are still stored.
    const later = await store.runs.markFinished(run.id, {
      status: 'failed',
      error: { name: 'Error', message: 'late' },
      log: [{ level: 'error', message: 'late outcome' }],
    });
    expect(later).toMatchObject({ status: 'succeeded', error: null });
    expect((await store.runs.listLogs(run.id)).map((l) => l.message)).toContain('late outcome');

    // An unknown run stores nothing and fails nothing; a bad line is named.
    await expect(
      store.runs.markFinished('no-such-run', {
        status: 'succeeded',
        log: [{ level: 'info', message: 'x' }],
      }),
    ).resolves.toBeUndefined();
    await expect(
      store.runs.markFinished(run.id, {
        status: 'succeeded',
        log: [{ level: 'loud' as 'info', message: 'x' }],
      }),
    ).rejects.toThrow(/log\[0\]\.level/);
  });

  it('createManyIfAbsent records new runs in one statement and leaves taken ids as they are', async () => {
    await store.runs.createIfAbsent({ id: 'many-taken', pipeline: 'claims', trigger: 'api' });
    const created = await store.runs.createManyIfAbsent([
      { id: 'many-1', pipeline: 'claims', trigger: 'api', params: { n: 1 } },
      { id: 'many-taken', pipeline: 'other', trigger: 'cron' },
      { id: 'many-2', pipeline: 'claims', trigger: 'webhook', pipelineVersion: 3 },
    ]);
    expect(created.sort()).toEqual(['many-1', 'many-2']);
    expect(await store.runs.get('many-1')).toMatchObject({ status: 'queued', params: { n: 1 } });
    expect(await store.runs.get('many-2')).toMatchObject({
      trigger: 'webhook',
      pipelineVersion: 3,
    });
    expect(await store.runs.get('many-taken')).toMatchObject({
      pipeline: 'claims',
      trigger: 'api',
    });
    await expect(store.runs.createManyIfAbsent([])).resolves.toEqual([]);
    await expect(
      store.runs.createManyIfAbsent([
        { id: 'many-bad', pipeline: 'claims', trigger: 'loud' as 'api' },
      ]),
    ).rejects.toThrow(/trigger/);
  });

  it('markManyRunning moves queued runs, records missing ones, re-claims count and finished stay', async () => {
    await store.runs.createIfAbsent({ id: 'mark-queued', pipeline: 'claims', trigger: 'api' });
    await store.runs.createIfAbsent({ id: 'mark-again', pipeline: 'claims', trigger: 'api' });
    await store.runs.markRunning('mark-again');
    await store.runs.createIfAbsent({ id: 'mark-done', pipeline: 'claims', trigger: 'api' });
    await store.runs.requestCancel('mark-done');
    const ifMissing = { pipeline: 'claims', trigger: 'api' as const, params: {} };
    const marked = await store.runs.markManyRunning([
      { id: 'mark-queued', ifMissing, startedAt: '2026-01-02T03:04:05.000Z' },
      { id: 'mark-missing', ifMissing },
      { id: 'mark-again', ifMissing },
      { id: 'mark-done', ifMissing },
      { id: 'mark-unknown' },
    ]);
    expect(marked.map((run) => [run?.id, run?.status, run?.attempt])).toEqual([
      ['mark-queued', 'running', 1],
      ['mark-missing', 'running', 1],
      ['mark-again', 'running', 2],
      ['mark-done', 'cancelled', 1],
      [undefined, undefined, undefined],
    ]);
    expect(marked[0]?.startedAt).toBe('2026-01-02T03:04:05.000Z');
  });

  it('markManyFinished records each outcome and its log lines in one statement; finished runs stay', async () => {
    for (const id of ['fin-1', 'fin-2', 'fin-done'])
      await store.runs.markRunning(id, { ifMissing: { pipeline: 'claims', trigger: 'api' } });
    await store.runs.markFinished('fin-done', { status: 'cancelled' });
    await store.runs.appendLog('fin-1', [{ level: 'info', message: 'page read' }]);
    const finished = await store.runs.markManyFinished([
      {
        id: 'fin-1',
        outcome: {
          status: 'succeeded',
          counts: { read: 3, delivered: 2 },
          breakdown: { routes: {}, destinations: {} },
          log: [
            { level: 'info', message: 'run succeeded', fields: { counts: { read: 3 } } },
            { level: 'info', message: 'after' },
          ],
        },
      },
      {
        id: 'fin-2',
        outcome: { status: 'failed', error: { name: 'Error', message: 'boom' } },
      },
      {
        id: 'fin-done',
        outcome: { status: 'succeeded', log: [{ level: 'info', message: 'late' }] },
      },
      {
        id: 'fin-unknown',
        outcome: { status: 'succeeded', log: [{ level: 'info', message: 'x' }] },
      },
    ]);
    expect(finished.map((run) => run?.status)).toEqual([
      'succeeded',
      'failed',
      'cancelled',
      undefined,
    ]);
    expect(finished[0]?.counts).toMatchObject({ read: 3, delivered: 2, failed: 0 });
    expect(finished[0]?.breakdown).toEqual({ routes: {}, destinations: {} });
    expect(finished[1]).toMatchObject({ error: { message: 'boom' }, breakdown: null });
    expect((await store.runs.listLogs('fin-1')).map((line) => [line.message, line.fields])).toEqual(
      [
        ['page read', null],
        ['run succeeded', { counts: { read: 3 } }],
        ['after', null],
      ],
    );
    expect((await store.runs.listLogs('fin-done')).map((line) => line.message)).toEqual(['late']);
    expect(await store.runs.listLogs('fin-unknown')).toEqual([]);
    await expect(
      store.runs.markManyFinished([{ id: 'fin-2', outcome: { status: 'running' as 'failed' } }]),
    ).rejects.toThrow(/status/);
  });

  it('the grouped writes commit without waiting for the flush on request, with the same results', async () => {
    const options = { waitForFlush: false };
    const ifMissing = { pipeline: 'claims', trigger: 'api' as const, params: {} };
    expect(
      await store.runs.createManyIfAbsent(
        [{ id: 'async-1', pipeline: 'claims', trigger: 'api' }],
        options,
      ),
    ).toEqual(['async-1']);
    const marked = await store.runs.markManyRunning(
      [
        { id: 'async-1', ifMissing },
        { id: 'async-2', ifMissing },
      ],
      options,
    );
    expect(marked.map((run) => run?.status)).toEqual(['running', 'running']);
    const finished = await store.runs.markManyFinished(
      [
        {
          id: 'async-1',
          outcome: { status: 'succeeded', log: [{ level: 'info', message: 'ok' }] },
        },
        { id: 'async-2', outcome: { status: 'failed' } },
      ],
      options,
    );
    expect(finished.map((run) => run?.status)).toEqual(['succeeded', 'failed']);
    expect((await store.runs.listLogs('async-1')).map((line) => line.message)).toEqual(['ok']);
  });
});
