// A file destination whose root cannot be created (`root: /proc/sluice-x`: procfs refuses new
// entries with ENOENT) used to leave its run `running` for ever: Node's recursive mkdir never
// returns on such a parent. Through the real server, the run now ends — its records dead-lettered
// (the default onError) or the run failed (onError: fail-run) — and the reason names the folder.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listDeadLetters,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  writeConfig,
  type ServerProcess,
} from './harness.js';

const ADMIN = 'admin-key-file-root-0123456789';
let server: ServerProcess;
let dir: string;

beforeAll(async () => {
  dir = tempDir('file-root');
  const config = writeConfig(
    dir,
    `
store: { dataDir: ${join(dir, 'data')} }
server:
  apiKeys:
    - { name: admin, key: ${ADMIN}, scopes: [admin] }
destinations:
  unwritable:
    kind: file
    root: /proc/sluice-x
    path: '{{pipeline}}/{{batch.id}}.ndjson'
    format: ndjson
    retry: { maxAttempts: 1 }
pipelines:
  lettered:
    source: { kind: sample, perRun: 3, pageSize: 3 }
    routes:
      - { name: all, to: [unwritable] }
  failing:
    source: { kind: sample, perRun: 3, pageSize: 3 }
    routes:
      - { name: all, to: [unwritable], onError: fail-run }
`,
  );
  server = await startServer({ config, adminKey: ADMIN });
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a file destination whose root cannot be created', () => {
  it('ends the run with its records dead-lettered, naming the folder', async () => {
    const run = await waitForRun(server, await triggerRun(server, 'lettered'), 20_000);
    expect(run.status).toBe('succeeded');
    expect(run.counts.deadLettered).toBe(3);
    const letters = (await listDeadLetters(server, { pipeline: 'lettered' })) as unknown as {
      error: { message: string };
    }[];
    expect(letters).toHaveLength(3);
    for (const letter of letters)
      expect(letter.error.message).toContain('cannot create the folder /proc/sluice-x');
  }, 40_000);

  it('fails the run with the reason when the route says fail-run', async () => {
    const run = await waitForRun(server, await triggerRun(server, 'failing'), 20_000);
    expect(run.status).toBe('failed');
    expect(run.error?.message).toContain('/proc/sluice-x');
  }, 40_000);

  it("the destination's check answers with the reason", async () => {
    const check = await server.api<{ ok: boolean; message: string }>(
      'POST',
      '/api/v1/destinations/unwritable/check',
    );
    expect(check.status).toBe(200);
    expect(check.body.ok).toBe(false);
    expect(check.body.message).toContain('/proc/sluice-x');
  }, 40_000);
});
