// Issue 23, "Rolling config changes across replicas": reference servers on one PostgreSQL store
// whose config files differ, as in the middle of a rolling deploy. The old replica (A) lacks
// pipeline `events`; the new one (B) has it. A never claims a run of `events`; with no replica
// able to execute it alive, the run stays queued and then fails after
// `scheduler.unclaimedRunTimeoutSeconds`, visible through GET /api/v1/runs/:id; a replica with
// the pipeline that starts within the bound runs it.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSluice, type SluiceServer } from '../src/index.js';
import { configDir, eventually } from './helpers.js';

const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_DB = `sluice_server_rolling_${process.pid}`;
const STORE_URL = `postgres://postgres@127.0.0.1:5432/${PG_DB}`;
const UNCLAIMED_SECONDS = 10;

/** A replica's config file: `daily` always, `events` only in the new configuration. */
function replicaConfig(withEvents: boolean) {
  const { dir, config } = configDir('');
  const out = join(dir, 'out');
  const yaml = `store: { url: "${STORE_URL}" }
server: { auth: false }
scheduler: { unclaimedRunTimeoutSeconds: ${UNCLAIMED_SECONDS} }
destinations:
  out: { kind: file, root: ${out}, path: "{{pipeline}}/{{runId}}-{{batch.id}}.ndjson" }
pipelines:
  daily:
    source: { kind: sample }
    routes: [{ name: all, to: [out] }]
${
  withEvents
    ? `  events:
    source: { kind: sample }
    routes: [{ name: all, to: [out] }]
`
    : ''
}`;
  writeFileSync(config, yaml);
  return { config, out };
}

/** The files a replica's destination wrote for one run of `events`. */
function eventFiles(out: string, runId: string): string[] {
  const folder = join(out, 'events');
  return existsSync(folder)
    ? readdirSync(folder).filter((name) => name.startsWith(`${runId}-`))
    : [];
}

async function admin(sql: string) {
  const client = new pg.Client(PG_ADMIN);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('rolling config changes across replicas (issue 23): reference servers on one PostgreSQL store', () => {
  const running: SluiceServer[] = [];
  const start = async (config: string, options: { worker?: boolean } = {}) => {
    const sluice = await startSluice({
      configPath: config,
      port: 0,
      host: '127.0.0.1',
      logger: false,
      cron: false,
      ...options,
    });
    running.push(sluice);
    return sluice;
  };
  const get = async (sluice: SluiceServer, path: string) =>
    (await fetch(`${sluice.url}${path}`)).json() as Promise<Record<string, unknown>>;
  const trigger = async (sluice: SluiceServer, pipeline: string) => {
    const response = await fetch(`${sluice.url}/api/v1/pipelines/${pipeline}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { runId: string }).runId;
  };
  const finished = (sluice: SluiceServer, runId: string, timeoutMs = 30_000) =>
    eventually(
      async () => {
        const run = await get(sluice, `/api/v1/runs/${runId}`);
        return ['succeeded', 'failed', 'cancelled'].includes(run.status as string)
          ? run
          : undefined;
      },
      timeoutMs,
      `run ${runId} to finish`,
    );
  const stop = async (sluice: SluiceServer) => {
    running.splice(running.indexOf(sluice), 1);
    await sluice.close();
  };

  let oldFile: ReturnType<typeof replicaConfig>;
  let newFile: ReturnType<typeof replicaConfig>;
  let a: SluiceServer;

  beforeAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`);
    await admin(`CREATE DATABASE ${PG_DB}`);
    oldFile = replicaConfig(false);
    newFile = replicaConfig(true);
    // The old replica runs; the rollout starts the new ones next to it.
    a = await start(oldFile.config);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
    await admin(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`);
  }, 60_000);

  it('rolling config changes across replicas: the replica that has the pipeline runs its runs; the one without it never claims them', async () => {
    const b = await start(newFile.config);
    expect(a.scheduler.queue.workedPipelines()).not.toContain('events');
    expect(b.scheduler.queue.workedPipelines()).toEqual(
      expect.arrayContaining(['daily', 'events']),
    );
    const runIds = [
      await trigger(b, 'events'),
      await trigger(b, 'events'),
      await trigger(b, 'events'),
    ];
    for (const runId of runIds) {
      // Either replica's API shows it: they share the store.
      const run = await finished(a, runId);
      expect(run).toMatchObject({
        status: 'succeeded',
        pipeline: 'events',
        attempt: 1,
        error: null,
      });
      // Written by B's destination (its own folder), never by A's.
      expect(eventFiles(newFile.out, runId).length).toBeGreaterThan(0);
    }
    expect(existsSync(join(oldFile.out, 'events'))).toBe(false);
    // A still runs what it has.
    const daily = await trigger(a, 'daily');
    expect(await finished(a, daily)).toMatchObject({ status: 'succeeded' });
    await stop(b);
  }, 90_000);

  it('rolling config changes across replicas: with no replica able to execute it alive, a run stays queued, then fails after scheduler.unclaimedRunTimeoutSeconds with an error naming the pipeline and version', async () => {
    // A new API-only replica accepts the run; the only worker (A) lacks the pipeline.
    const api = await start(newFile.config, { worker: false });
    const version = api.state.current.pipelineVersions.events;
    expect(version).toBeGreaterThanOrEqual(1);
    const queuedAt = Date.now();
    const runId = await trigger(api, 'events');
    await new Promise((r) => setTimeout(r, (UNCLAIMED_SECONDS * 1000) / 2));
    expect(await get(a, `/api/v1/runs/${runId}`)).toMatchObject({
      status: 'queued',
      startedAt: null,
    });

    const run = await finished(a, runId, (UNCLAIMED_SECONDS + 15) * 1000);
    expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(UNCLAIMED_SECONDS * 1000);
    expect(run).toMatchObject({
      status: 'failed',
      pipeline: 'events',
      pipelineVersion: version,
      startedAt: null,
      error: {
        name: 'RunUnclaimedError',
        code: 'SLUICE_ERR_FATAL',
        message:
          `no instance that can execute version ${version} of pipeline "events" claimed this run within ${UNCLAIMED_SECONDS} s (unclaimedRunTimeoutSeconds): ` +
          'no running instance has that version or a later one of the pipeline enabled in its configuration',
      },
    });
    await stop(api);
  }, 90_000);

  it('rolling config changes across replicas: a replica that has the pipeline and starts within the bound runs the waiting run', async () => {
    const api = await start(newFile.config, { worker: false });
    const runId = await trigger(api, 'events');
    await new Promise((r) => setTimeout(r, (UNCLAIMED_SECONDS * 1000) / 2));
    expect(await get(a, `/api/v1/runs/${runId}`)).toMatchObject({ status: 'queued' });
    await start(newFile.config);
    expect(await finished(a, runId, UNCLAIMED_SECONDS * 1000)).toMatchObject({
      status: 'succeeded',
      attempt: 1,
      error: null,
    });
    expect(eventFiles(newFile.out, runId).length).toBeGreaterThan(0);
  }, 90_000);
});
