// Issue 23: configuration written through the API is one transaction (validated completely,
// including whether the scheduler can apply it, before anything is stored; refused: nothing
// stored; accepted: applied to the running scheduler, or taken back), and the one rule between
// the file and the store (the file is the source of truth at start) — a test per case: the file
// adds, the file removes, the API edits, a restart.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSluice, type SluiceServer } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-config-writes-'));
const config = join(dir, 'sluice.yaml');
const OUT = join(dir, 'out');

const destination = (name: string) =>
  `  ${name}: { kind: file, root: ${OUT}, path: ${name}.ndjson }`;
const pipeline = (name: string, to: string, extra = '') =>
  `  ${name}:\n    source: { kind: sample }\n${extra}    routes: [{ name: all, to: [${to}] }]`;
// Each describe has a store of its own.
let dataDir = join(dir, 'data');
const file = (destinations: string[], pipelines: string[]) =>
  `store: { dataDir: ${dataDir} }\nserver: { auth: false }\ndestinations:\n${destinations.join('\n')}\npipelines:\n${pipelines.join('\n')}\n`;

/** Starts the server on `yaml`, keeping its log lines. */
async function start(
  yaml: string,
): Promise<{ sluice: SluiceServer; lines: Record<string, unknown>[] }> {
  writeFileSync(config, yaml);
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const sluice = await startSluice({
    configPath: config,
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'info' }, sink),
    cron: false,
    worker: false,
  });
  return { sluice, lines };
}

async function api(sluice: SluiceServer, method: string, path: string, body?: unknown) {
  const response = await fetch(`${sluice.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text === '' ? {} : JSON.parse(text)) as {
      config?: Record<string, unknown>;
      schedule?: { cron?: string };
    },
  };
}

const versions = async (sluice: SluiceServer, name: string) =>
  (await sluice.store.pipelines.listVersions(name)).map((v) => v.version);

describe('API writes are transactional', () => {
  let sluice: SluiceServer;
  beforeAll(async () => {
    ({ sluice } = await start(
      file(
        [destination('out'), destination('spare')],
        [pipeline('daily', 'out', '    schedule: { cron: "0 8 * * *" }\n')],
      ),
    ));
  }, 120_000);
  afterAll(async () => {
    await sluice?.close();
  });

  it('PUT /schedules/{name} that the configuration refuses answers 400 and stores no version; the scheduler keeps its schedule', async () => {
    const before = await versions(sluice, 'daily');
    for (const schedule of [
      { cron: '@sometimes' },
      { cron: '0 8 * * *', timezone: 'Mars/Base' },
      { cron: '0 8 * * *', missed: { catchUp: 100000 } },
    ]) {
      const answer = await api(sluice, 'PUT', '/api/v1/schedules/daily', schedule);
      expect(answer.status, JSON.stringify(schedule)).toBe(400);
      expect(await versions(sluice, 'daily')).toEqual(before);
    }
    expect(sluice.scheduler.pipeline('daily')?.cron[0]?.schedule.expression).toBe('0 8 * * *');
  });

  it('PUT /schedules/{name} with a nickname or 7 fields is stored and applied to the running scheduler', async () => {
    const before = await versions(sluice, 'daily');
    for (const cron of ['@daily', '0 0 6 * * * 2099']) {
      const answer = await api(sluice, 'PUT', '/api/v1/schedules/daily', {
        cron,
        timezone: 'Europe/Berlin',
      });
      expect(answer.status).toBe(200);
      expect(sluice.scheduler.pipeline('daily')?.cron[0]?.schedule).toMatchObject({
        expression: cron,
        timezone: 'Europe/Berlin',
      });
      expect(sluice.config().pipelines['daily']!.schedule!.cron).toBe(cron);
    }
    expect((await versions(sluice, 'daily')).length).toBe(before.length + 2);
  });

  it('a change the running scheduler fails to apply is taken back: the request fails, nothing is stored, the old schedule runs', async () => {
    const before = await versions(sluice, 'daily');
    const running = sluice.scheduler.pipeline('daily')?.cron[0]?.schedule.expression;
    const setPipelines = sluice.scheduler.setPipelines.bind(sluice.scheduler);
    let calls = 0;
    sluice.scheduler.setPipelines = async (list) => {
      calls++;
      // The first call (applying the change) fails as a lost database would; the next (putting the old schedule back) works.
      if (calls === 1) throw new Error('schedule state unavailable');
      return setPipelines(list);
    };
    try {
      const answer = await api(sluice, 'PUT', '/api/v1/schedules/daily', { cron: '@weekly' });
      expect(answer.status).toBeGreaterThanOrEqual(500);
    } finally {
      sluice.scheduler.setPipelines = setPipelines;
    }
    expect(calls).toBe(2);
    expect(await versions(sluice, 'daily')).toEqual(before);
    expect(sluice.scheduler.pipeline('daily')?.cron[0]?.schedule.expression).toBe(running);
    expect(sluice.config().pipelines['daily']!.schedule!.cron).toBe(running);
    expect((await api(sluice, 'GET', '/api/v1/schedules/daily')).body.schedule?.cron).toBe(running);
  });

  it('refused pipeline, destination and delete changes store nothing', async () => {
    const before = await versions(sluice, 'daily');
    const current = (await api(sluice, 'GET', '/api/v1/pipelines/daily')).body.config;
    expect(
      (
        await api(sluice, 'PUT', '/api/v1/pipelines/daily', {
          ...current,
          routes: [{ name: 'all', to: ['nowhere'] }],
        })
      ).status,
    ).toBe(400);
    expect(
      (await api(sluice, 'PUT', '/api/v1/pipelines/daily', { ...current, timeoutMs: 5 })).status,
    ).toBe(400);
    expect(await versions(sluice, 'daily')).toEqual(before);
    expect(
      (
        await api(sluice, 'PUT', '/api/v1/destinations/spare', {
          kind: 'file',
          root: OUT,
          path: 'x.ndjson',
          colour: 'blue',
        })
      ).status,
    ).toBe(400);
    expect((await sluice.store.destinations.listVersions('spare')).length).toBe(1);
    expect((await api(sluice, 'DELETE', '/api/v1/destinations/out')).status).toBe(400);
    expect(await sluice.store.destinations.getEntry('out')).toBeDefined();
    expect(
      (
        await api(sluice, 'PUT', '/api/v1/pipelines/fresh', {
          source: { kind: 'sample' },
          routes: [{ name: 'all', to: ['nowhere'] }],
        })
      ).status,
    ).toBe(400);
    expect(await sluice.store.pipelines.getEntry('fresh')).toBeUndefined();
  });
});

describe('the file is the source of truth at start', () => {
  it('file adds, API edits, file removes, restart: one rule, no start-up failure', async () => {
    dataDir = join(dir, 'data-file-rule');
    // 1. The first file.
    let { sluice } = await start(file([destination('old-out')], [pipeline('old', 'old-out')]));
    await sluice.close();

    // 2. The file adds a pipeline (and a destination): both are stored and run.
    let lines: Record<string, unknown>[];
    ({ sluice, lines } = await start(
      file(
        [destination('old-out'), destination('out')],
        [pipeline('old', 'old-out'), pipeline('daily', 'out')],
      ),
    ));
    expect(Object.keys(sluice.config().pipelines).sort()).toEqual(['daily', 'old']);
    expect(sluice.scheduler.pipeline('daily')).toBeDefined();
    expect(lines.filter((l) => l.level === 40)).toEqual([]);

    // 3. The API edits a pipeline the file declares and creates one the file does not.
    const daily = (await api(sluice, 'GET', '/api/v1/pipelines/daily')).body.config;
    expect(
      (
        await api(sluice, 'PUT', '/api/v1/pipelines/daily', {
          ...daily,
          description: 'edited through the API',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await api(sluice, 'PUT', '/api/v1/pipelines/api-made', {
          source: { kind: 'sample' },
          routes: [{ name: 'all', to: ['out'] }],
        })
      ).status,
    ).toBe(201);
    expect(sluice.config().pipelines['daily']!.description).toBe('edited through the API');
    expect(await versions(sluice, 'daily')).toEqual([2, 1]);
    await sluice.close();

    // 4. A new file removes "old" and its destination (which "old" needs): it starts — before, the
    // stored "old" failed validation against the new file — and "old" is disabled, not run, and
    // named in a start-up warning, with the API-made pipeline.
    ({ sluice, lines } = await start(file([destination('out')], [pipeline('daily', 'out')])));
    expect(Object.keys(sluice.config().pipelines)).toEqual(['daily']);
    expect(sluice.scheduler.pipeline('old')).toBeUndefined();
    expect(sluice.scheduler.pipeline('api-made')).toBeUndefined();
    expect((await sluice.store.pipelines.getEntry('old'))?.enabled).toBe(false);
    expect((await sluice.store.pipelines.getEntry('api-made'))?.enabled).toBe(false);
    expect(await sluice.store.destinations.getEntry('old-out')).toBeUndefined();
    expect((await sluice.store.pipelines.listVersions('old')).length).toBe(1); // history kept
    const warning = lines.find((l) => l.level === 40 && Array.isArray(l.retired));
    expect(warning?.retired).toEqual([
      'destinations.old-out',
      'pipelines.api-made',
      'pipelines.old',
    ]);
    // The restart re-applied the file's "daily": the API's edit is a version in its history.
    expect(sluice.config().pipelines['daily']!.description).toBeUndefined();
    expect(await versions(sluice, 'daily')).toEqual([3, 2, 1]);
    expect((await sluice.store.pipelines.getVersion('daily', 2))?.config.description).toBe(
      'edited through the API',
    );
    // Enabling a retired pipeline validates it against the running configuration: "old" needs a removed destination.
    expect((await api(sluice, 'POST', '/api/v1/pipelines/old/enable')).status).toBe(400);
    expect((await sluice.store.pipelines.getEntry('old'))?.enabled).toBe(false);
    expect((await api(sluice, 'POST', '/api/v1/pipelines/api-made/enable')).status).toBe(200);
    expect(sluice.scheduler.pipeline('api-made')).toBeDefined();
    await sluice.close();

    // 5. A restart with the same file: nothing new is stored, the API-enabled pipeline is retired again.
    ({ sluice, lines } = await start(file([destination('out')], [pipeline('daily', 'out')])));
    expect(await versions(sluice, 'daily')).toEqual([3, 2, 1]);
    expect(lines.find((l) => l.level === 40 && Array.isArray(l.retired))?.retired).toEqual([
      'pipelines.api-made',
    ]);

    // 6. The file declares "old" again: it is enabled and runs.
    writeFileSync(
      config,
      file(
        [destination('out'), destination('old-out')],
        [pipeline('daily', 'out'), pipeline('old', 'old-out')],
      ),
    );
    await sluice.reload();
    expect(Object.keys(sluice.config().pipelines).sort()).toEqual(['daily', 'old']);
    expect((await sluice.store.pipelines.getEntry('old'))?.enabled).toBe(true);
    expect(sluice.scheduler.pipeline('old')).toBeDefined();
    await sluice.close();
  }, 240_000);
});
