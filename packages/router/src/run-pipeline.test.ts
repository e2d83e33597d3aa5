import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createPluginContext,
  type DestinationInstance,
  type Page,
  type RouteSpec,
} from '@sluice/core';
import { compileRouteTable } from './route-table.js';
import {
  INVALID_RECORD_DESTINATION,
  INVALID_RECORD_ROUTE,
  createRouter,
} from './delivery/router.js';
import { RunAbortedError, RunFailedError } from './delivery/errors.js';
import { runPipeline, summaryOfFailure } from './run-pipeline.js';
import {
  memoryCheckpoints,
  memoryConnector,
  memoryDeadLetters,
  recordingClock,
  recordingDestination,
} from './__fixtures__/fakes.js';

const pages = (n: number, size: number): Page[] =>
  Array.from({ length: n }, (_, p) => ({
    records: Array.from({ length: size }, (_, i) => ({ page: p, i })),
    state: { cursor: p + 1 },
  }));

function build(
  routes: RouteSpec[],
  dests: Record<string, DestinationInstance>,
  signal = new AbortController().signal,
  maxRecords = 3,
) {
  const ctx = createPluginContext({ clock: recordingClock() });
  const table = compileRouteTable(routes, { ctx, destinations: Object.keys(dests) });
  const deadLetters = memoryDeadLetters();
  const checkpoints = memoryCheckpoints();
  const destinations = Object.fromEntries(
    Object.entries(dests).map(([name, instance]) => [
      name,
      {
        instance,
        capabilities: { idempotent: true, maxInFlight: 2 },
        policy: {
          batch: { maxRecords },
          concurrency: 2,
          retry: { maxAttempts: 3, initialDelayMs: 1 },
        },
      },
    ]),
  );
  const router = createRouter({
    table,
    destinations,
    deadLetters,
    ctx,
    pipeline: 'daily',
    runId: 'r1',
    source: 'mem',
    random: () => 0.5,
  });
  return { router, checkpoints, deadLetters, signal };
}

describe('runPipeline', () => {
  it('commits every page state in order, each after its records were handled', async () => {
    const events: string[] = [];
    const db = recordingDestination(async (batch, call) => {
      if (call === 2) throw new RetryableError('busy');
      if (call === 4) {
        db.written.push(...batch.records.slice(1)); // the rest of the batch was written
        throw new PartialBatchError([{ index: 0, error: new FatalError('bad row') }]);
      }
      events.push(`write:${batch.records.map((r) => `${r.page}.${r.i}`).join(',')}`);
    });
    const slow = recordingDestination(async () => {
      await new Promise((r) => setTimeout(r, 3));
    });
    const { router, checkpoints, deadLetters } = build([{ name: 'all', to: ['db', 'slow'] }], {
      db,
      slow,
    });
    const commit = checkpoints.commit.bind(checkpoints);
    checkpoints.commit = async (pipeline, state, stream) => {
      // When a checkpoint is committed, every record of that page and before is written or dead-lettered.
      const upTo = (state as { cursor: number }).cursor;
      const handled = new Set(
        [
          ...db.written,
          ...deadLetters.letters.filter((l) => l.destination === 'db').map((l) => l.record),
        ].map((r) => `${r.page}.${r.i}`),
      );
      for (let p = 0; p < upTo; p++)
        for (let i = 0; i < 4; i++) expect(handled.has(`${p}.${i}`)).toBe(true);
      events.push(`commit:${upTo}`);
      return commit(pipeline, state, stream);
    };
    const summary = await runPipeline({
      connector: memoryConnector(pages(5, 4)),
      request: {},
      router,
      checkpoints,
      pipeline: 'daily',
      signal: new AbortController().signal,
    });
    expect(checkpoints.commits).toEqual([
      { cursor: 1 },
      { cursor: 2 },
      { cursor: 3 },
      { cursor: 4 },
      { cursor: 5 },
    ]);
    expect(summary.records).toMatchObject({ in: 20, acknowledged: 20 });
    expect(summary.destinations.db).toMatchObject({ delivered: 19, deadLettered: 1, retries: 1 });
    expect(summary.destinations.slow!.delivered).toBe(20);
    expect(deadLetters.letters).toHaveLength(1);
    expect(events.filter((e) => e.startsWith('commit:'))).toEqual([
      'commit:1',
      'commit:2',
      'commit:3',
      'commit:4',
      'commit:5',
    ]);
  });

  it('never commits past a page whose records are not acknowledged (fail-run)', async () => {
    const db = recordingDestination((batch) => {
      if (batch.records.some((r) => r.page === 2)) throw new FatalError('rejected');
    });
    const { router, checkpoints } = build(
      [{ name: 'all', to: ['db'], onError: 'fail-run' }],
      { db },
      undefined,
      4,
    );
    const run = runPipeline({
      connector: memoryConnector(pages(5, 4)),
      request: {},
      router,
      checkpoints,
      pipeline: 'daily',
      signal: new AbortController().signal,
    });
    await expect(run).rejects.toBeInstanceOf(RunFailedError);
    const error = (await run.catch((e: unknown) => e)) as RunFailedError;
    expect(error.summary).toMatchObject({ failed: true });
    expect(checkpoints.commits).toEqual([{ cursor: 1 }, { cursor: 2 }]);
  });

  it('stops promptly on abort and leaves the last committed checkpoint intact', async () => {
    const controller = new AbortController();
    let writes = 0;
    const db = recordingDestination(async () => {
      writes++;
      if (writes === 3) {
        controller.abort(new Error('shutdown'));
        await new Promise(() => undefined); // a write that never finishes by itself
      }
    });
    const { router, checkpoints } = build(
      [{ name: 'all', to: ['db'] }],
      { db },
      controller.signal,
      4,
    );
    const started = Date.now();
    const run = runPipeline({
      connector: memoryConnector(pages(10, 4), { delayMs: 2 }),
      request: {},
      router,
      checkpoints,
      pipeline: 'daily',
      signal: controller.signal,
    });
    await expect(run).rejects.toBeInstanceOf(RunAbortedError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(checkpoints.commits.length).toBeLessThanOrEqual(2);
    expect(checkpoints.commits).toEqual(pages(checkpoints.commits.length, 0).map((p) => p.state));
  });

  it('delivers and commits the pages read before a connector failure, then rethrows it', async () => {
    const db = recordingDestination();
    const { router, checkpoints } = build([{ name: 'all', to: ['db'] }], { db });
    await expect(
      runPipeline({
        connector: memoryConnector(pages(4, 2), { failAfter: 2 }),
        request: {},
        router,
        checkpoints,
        pipeline: 'daily',
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow('source went away');
    expect(checkpoints.commits).toEqual([{ cursor: 1 }, { cursor: 2 }]);
    expect(db.written).toHaveLength(4);
  });

  it('a connector that throws after one page: the error carries the counts of the page delivered', async () => {
    const db = recordingDestination();
    const { router, checkpoints } = build([{ name: 'all', to: ['db'] }], { db });
    const error = await runPipeline({
      connector: memoryConnector(pages(3, 2), { failAfter: 1 }),
      request: {},
      router,
      checkpoints,
      pipeline: 'daily',
      signal: new AbortController().signal,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('source went away');
    const summary = summaryOfFailure(error);
    expect(summary?.records.in).toBe(2);
    expect(summary?.destinations['db']?.delivered).toBe(2);
    expect(db.written).toHaveLength(2);
    expect(checkpoints.commits).toEqual([{ cursor: 1 }]);
  });

  it('refuses a read() that is not an async iterable, naming the connector, as the contract suite does', async () => {
    for (const [read, got] of [
      [
        function* () {
          yield { records: [{ a: 1 }] };
        },
        'a sync iterable (a function* generator?)',
      ],
      [() => [{ records: [{ a: 1 }] }], 'an array'],
    ] as const) {
      const db = recordingDestination();
      const { router, checkpoints } = build([{ name: 'all', to: ['db'] }], { db });
      const error = await runPipeline({
        connector: { read } as never,
        source: 'shapes',
        request: {},
        router,
        checkpoints,
        pipeline: 'daily',
        signal: new AbortController().signal,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FatalError);
      expect((error as Error).message).toContain(
        `connector "shapes": read() must return an AsyncIterable<Page>`,
      );
      expect((error as Error).message).toContain(`but it returned ${got}`);
      expect(db.written).toEqual([]);
      expect(summaryOfFailure(error)?.records.in).toBe(0);
    }
  });

  it('dead-letters values that are not plain objects, naming connector, page and index, and never writes them', async () => {
    const db = recordingDestination();
    const { router, checkpoints, deadLetters } = build([{ name: 'all', to: ['db'] }], { db });
    class Row {
      constructor(readonly id: number) {}
    }
    const bad: unknown[] = ['x', 1, null, [1, 2], new Row(7), new Date(0)];
    const connector = memoryConnector([
      { records: [{ ok: 1 }], state: { cursor: 1 } },
      { records: [{ ok: 2 }, ...bad] as never, state: { cursor: 2 } },
    ]);
    const summary = await runPipeline({
      connector,
      request: {},
      router,
      checkpoints,
      pipeline: 'daily',
      signal: new AbortController().signal,
    });
    expect(db.written).toEqual([{ ok: 1 }, { ok: 2 }]);
    expect(summary.records.in).toBe(8);
    expect(summary.deadLettered).toBe(6);
    expect(checkpoints.commits).toEqual([{ cursor: 1 }, { cursor: 2 }]);
    const messages = deadLetters.letters.map((l) => l.error.message);
    expect(messages).toEqual([
      'connector "mem" page 2, record #1: not a plain JSON object (a string "x"); a connector must yield records as plain objects',
      'connector "mem" page 2, record #2: not a plain JSON object (a number); a connector must yield records as plain objects',
      'connector "mem" page 2, record #3: not a plain JSON object (null); a connector must yield records as plain objects',
      'connector "mem" page 2, record #4: not a plain JSON object (an array); a connector must yield records as plain objects',
      'connector "mem" page 2, record #5: not a plain JSON object (an instance of Row); a connector must yield records as plain objects',
      'connector "mem" page 2, record #6: not a plain JSON object (an instance of Date); a connector must yield records as plain objects',
    ]);
    for (const letter of deadLetters.letters) {
      expect(letter.error.code).toBe('SLUICE_ERR_INVALID_RECORD');
      expect(letter.route).toBe(INVALID_RECORD_ROUTE);
      expect(letter.destination).toBe(INVALID_RECORD_DESTINATION);
    }
    expect(deadLetters.letters[0]!.record).toEqual({ invalidRecord: 'x', type: 'a string "x"' });
    expect(deadLetters.letters[4]!.record).toEqual({
      invalidRecord: { id: 7 },
      type: 'an instance of Row',
    });
  });

  it('passes the stream name to the checkpoint store and skips pages without state', async () => {
    const db = recordingDestination();
    const { router, checkpoints } = build([{ name: 'all', to: ['db'] }], { db });
    const streams: (string | undefined)[] = [];
    const commit = checkpoints.commit.bind(checkpoints);
    checkpoints.commit = (p, s, stream) => {
      streams.push(stream);
      return commit(p, s, stream);
    };
    await runPipeline({
      connector: memoryConnector([{ records: [{ a: 1 }] }, { records: [{ a: 2 }], state: 'end' }]),
      request: {},
      router,
      checkpoints,
      pipeline: 'daily',
      stream: 'sessions',
      signal: new AbortController().signal,
    });
    expect(checkpoints.commits).toEqual(['end']);
    expect(streams).toEqual(['sessions']);
  });
});

describe('runPipeline memory', () => {
  it('lets pages already delivered be garbage-collected while the read goes on', async () => {
    // Regression: racing every step against one long-lived abort promise kept each page alive
    // until the run ended, so a 1M-row read held every row in memory.
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    let firstPage: WeakRef<object> | undefined;
    let collected = false;
    const connector = {
      async *read() {
        for (let p = 0; p < 60; p++) {
          const records = Array.from({ length: 200 }, (_, i) => ({
            page: p,
            i,
            pad: 'x'.repeat(100),
          }));
          if (p === 0) firstPage = new WeakRef(records);
          if (p === 50) {
            for (let i = 0; i < 3 && !collected; i++) {
              await new Promise((r) => setTimeout(r, 5));
              gc();
              collected = firstPage!.deref() === undefined;
            }
          }
          yield { records, state: { cursor: p + 1 } };
        }
      },
    };
    const sink = recordingDestination(async () => {});
    const { router, checkpoints } = build(
      [{ name: 'all', to: ['sink'] }],
      { sink },
      new AbortController().signal,
      100,
    );
    // The sink keeps what it is given; drop it so only the engine could retain the page.
    sink.written.length = 0;
    const write = sink.write.bind(sink);
    sink.write = async (batch, options) => {
      await write(batch, options);
      sink.written.length = 0;
    };
    await runPipeline({
      connector,
      request: {},
      router,
      checkpoints,
      pipeline: 'daily',
      signal: new AbortController().signal,
    });
    expect(collected, 'the first page must be collectable once delivered').toBe(true);
  });
});
