// The engine's contracts with connectors, through the real server: a run that fails midway keeps
// exact counts, values that are not records become dead letters (never written), and a read()
// that is not an async iterable fails the run naming the connector.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSluice, type SluiceServer } from '../src/index.js';
import { configDir, eventually } from './helpers.js';

const plugin = resolve(import.meta.dirname, '__fixtures__/engine-contracts-plugin/index.js');

describe('engine contracts through the server', () => {
  let sluice: SluiceServer;
  let out: string;

  beforeAll(async () => {
    const { dir, config } = configDir('');
    out = join(dir, 'out');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      config,
      `
store: { dataDir: ${join(dir, 'data')} }
plugins: [${JSON.stringify(plugin)}]
destinations:
  files: { kind: file, root: ${out}, path: '{{pipeline}}-{{batch.id}}.ndjson', format: ndjson }
pipelines:
  midway:
    source: { kind: fails-after-one-page }
    routes: [{ name: all, to: [files] }]
  bad:
    source: { kind: bad-records }
    routes: [{ name: all, to: [files] }]
  sync:
    source: { kind: sync-read }
    routes: [{ name: all, to: [files] }]
`,
    );
    sluice = await startSluice({ configPath: config, port: 0, host: '127.0.0.1', logger: false });
  }, 120_000);

  afterAll(async () => {
    await sluice?.close();
  });

  const finished = async (pipeline: string) => {
    const { runId } = await sluice.scheduler.enqueue({ pipeline, trigger: 'api' });
    return eventually(
      async () => {
        const r = await sluice.store.runs.get(runId);
        return r && ['succeeded', 'failed'].includes(r.status) ? r : undefined;
      },
      60_000,
      `run of ${pipeline}`,
    );
  };
  const written = (pipeline: string) =>
    existsSync(out)
      ? readdirSync(out)
          .filter((f) => f.startsWith(`${pipeline}-`))
          .flatMap((f) =>
            readFileSync(join(out, f), 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as unknown),
          )
      : [];

  it('a connector that throws after one page: the failed run reports the page it delivered', async () => {
    const run = await finished('midway');
    expect(run.status).toBe('failed');
    expect(run.error?.message).toContain('the source went away after page 1');
    expect(run.counts).toMatchObject({ read: 2, delivered: 2, deadLettered: 0 });
    // Its breakdown is what it had too (issue 22's run view).
    expect(run.breakdown).toEqual({
      routes: { all: { matched: 2, produced: 2, droppedByTransform: 0, failed: 0 } },
      destinations: {
        files: expect.objectContaining({ delivered: 2, failed: 0, deadLettered: 0 }),
      },
    });
    expect(written('midway')).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await sluice.store.checkpoints.get('midway')).toEqual({ page: 1 });
  });

  it('values that are not plain objects become dead letters naming connector, page and index, and are not written', async () => {
    const run = await finished('bad');
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    expect(run.counts).toMatchObject({ read: 6, delivered: 1, deadLettered: 5 });
    expect(written('bad')).toEqual([{ id: 1 }]);
    const letters = (await sluice.store.deadLetters.list({ pipeline: 'bad' })).items;
    expect(letters.map((l) => l.error.message).sort()).toEqual(
      [
        'record #1: not a plain JSON object (a string "x")',
        'record #2: not a plain JSON object (a number)',
        'record #3: not a plain JSON object (null)',
        'record #4: not a plain JSON object (an array)',
        'record #5: not a plain JSON object (an instance of Date)',
      ].map(
        (m) =>
          `connector "bad-records" page 1, ${m}; a connector must yield records as plain objects`,
      ),
    );
    expect(letters.every((l) => l.error.code === 'SLUICE_ERR_INVALID_RECORD')).toBe(true);
  });

  it('a read() that returns a sync generator fails the run naming the connector', async () => {
    const run = await finished('sync');
    expect(run.status).toBe('failed');
    expect(run.error?.message).toBe(
      'connector "sync-read": read() must return an AsyncIterable<Page> (write it as "async *read(request, signal) { yield { records } }"), but it returned a sync iterable (a function* generator?)',
    );
    expect(written('sync')).toEqual([]);
  });
});
