// Issue 13, point 2: one process owns a PGlite data folder. Drives the real server
// (`node apps/server/dist/cli.js serve`, PGlite store in a temporary folder) and the real
// scripts/backup.sh:
// - a second `sluice serve` on the same data folder exits non-zero with SLUICE_ERR_DATA_DIR_LOCKED
//   naming the folder and the owner's pid, and the first keeps serving (a run still succeeds);
//   before, both became ready and concurrent writes corrupted the folder;
// - `sluice migrate`, `sluice run` and `sluice dead-letters list` on that folder refuse the same
//   way, before touching it (`migrate` used to abort inside the WASM runtime);
// - `scripts/backup.sh backup` and `restore` refuse the folder while it is in use, copying and
//   moving nothing;
// - after `kill -9` of the owner a new `serve` on the folder starts at once (the dead owner is
//   recognised by its pid; no waiting for a timeout) with the data intact, owns the folder in
//   turn, and releases it on a graceful shutdown (SIGTERM), after which a backup succeeds.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  ROOT,
  requireBuiltServer,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';

const ADMIN = 'data-folder-lock-admin-key-0123456789';

/** Runs the CLI to completion (a second process on the same folder). */
function cli(
  args: string[],
  cwd: string,
  timeoutMs = 90_000,
): Promise<{ code: number | null; stdout: string; stderr: string; servedTooSoon: boolean }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NODE_ENV: 'production', SEC_ADMIN_KEY: ADMIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let servedTooSoon = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const watch = () => {
      // A second server that starts serving on a folder in use is the bug: stop it at once.
      if (!servedTooSoon && (stdout + stderr).includes('sluice is serving')) {
        servedTooSoon = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', (c: Buffer) => ((stdout += c.toString()), watch()));
    child.stderr.on('data', (c: Buffer) => ((stderr += c.toString()), watch()));
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, servedTooSoon });
    });
  });
}

describe('one owner per PGlite data folder (issue 13 point 2)', () => {
  let dir: string;
  let data: string;
  let config: string;
  let owner: ServerProcess;
  let firstStartMs = 0;

  beforeAll(async () => {
    requireBuiltServer();
    dir = tempDir('sec-lock');
    data = join(dir, 'data');
    config = writeConfig(
      dir,
      `
store: { dataDir: ${data} }
server:
  apiKeys: [ { name: admin, key: '\${env:SEC_ADMIN_KEY}', scopes: [admin] } ]
logging: { level: info }
destinations:
  files: { kind: file, root: ${dir}/out, path: '{{pipeline}}/{{batch.id}}.ndjson', format: ndjson }
pipelines:
  sample:
    source: { kind: sample, total: 50 }
    routes: [ { name: all, to: [files] } ]
`,
    );
    const started = Date.now();
    owner = await startServer({ config, adminKey: ADMIN, env: { SEC_ADMIN_KEY: ADMIN } });
    firstStartMs = Date.now() - started;
    data = realpathSync(data);
  }, 180_000);

  afterAll(async () => {
    await owner?.stop();
  });

  it('refuses a second `sluice serve` on the folder (non-zero exit naming the folder and the pid); the first keeps serving', async () => {
    const second = await cli(
      ['serve', '--config', config, '--port', '0', '--host', '127.0.0.1'],
      dir,
    );
    expect(second.servedTooSoon, 'the second server became ready on a folder in use').toBe(false);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `PGlite data folder ${data} is in use by process ${owner.child.pid}`,
    );
    // The owner is unaffected: ready, and a run still goes through.
    expect((await fetch(`${owner.url}/readyz`)).status).toBe(200);
    const run = await waitForRun(owner, await triggerRun(owner, 'sample'));
    expect(run.status).toBe('succeeded');
    expect(run.counts.read).toBeGreaterThan(0);
    expect(run.counts.delivered).toBe(run.counts.read);
  }, 180_000);

  it('refuses `sluice migrate` (--json: SLUICE_ERR_DATA_DIR_LOCKED with folder and pid), `run` and `dead-letters list` on the folder', async () => {
    const migrate = await cli(['migrate', '--config', config, '--json'], dir);
    expect(migrate.code).toBe(1);
    const out = JSON.parse(migrate.stdout.trim().split('\n').pop() as string) as {
      ok: boolean;
      error: { code: string; message: string; details: { dataDir: string; pid: number } };
    };
    expect(out.ok).toBe(false);
    expect(out.error.code).toBe('SLUICE_ERR_DATA_DIR_LOCKED');
    expect(out.error.details).toMatchObject({ dataDir: data, pid: owner.child.pid });
    expect(out.error.message).toContain(`process ${owner.child.pid}`);
    const plain = await cli(['migrate', '--config', config], dir);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(
      `error: PGlite data folder ${data} is in use by process ${owner.child.pid}`,
    );
    for (const args of [
      ['run', 'sample', '--config', config],
      ['dead-letters', 'list', '--config', config],
    ]) {
      const result = await cli(args, dir);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr, args.join(' ')).toContain(`is in use by process ${owner.child.pid}`);
    }
    // The owner still serves.
    expect((await fetch(`${owner.url}/readyz`)).status).toBe(200);
  }, 300_000);

  it('refuses `scripts/backup.sh backup` and `restore` of the folder in use, copying and moving nothing', () => {
    const file = join(dir, 'backup.tgz');
    const backup = spawnSync(
      'bash',
      [join(ROOT, 'scripts/backup.sh'), 'backup', '--data-dir', data, '--file', file],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(backup.status).toBe(1);
    expect(backup.stderr).toContain(
      `PGlite data folder ${data} is in use by process ${owner.child.pid}`,
    );
    expect(existsSync(file)).toBe(false);
    const restore = spawnSync(
      'bash',
      [join(ROOT, 'scripts/backup.sh'), 'restore', '--data-dir', data, '--file', config],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(restore.status).toBe(1);
    expect(restore.stderr).toContain(`is in use by process ${owner.child.pid}`);
    expect(readdirSync(dir).filter((f) => f.includes('before-restore'))).toEqual([]);
  });

  it('after kill -9 of the owner, a new `serve` starts at once with the data, owns the folder, and releases it on SIGTERM', async () => {
    const before = await owner.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/runs?pipeline=sample',
    );
    expect(before.status).toBe(200);
    await owner.kill9();
    expect(existsSync(join(data, 'sluice.lock')), 'kill -9 leaves the lock file behind').toBe(true);
    const started = Date.now();
    owner = await startServer({ config, adminKey: ADMIN, env: { SEC_ADMIN_KEY: ADMIN } });
    const restartMs = Date.now() - started;
    console.log(
      `[data-folder-lock] restart after kill -9: serving again in ${restartMs} ms (first start on a new folder: ${firstStartMs} ms)`,
    );
    // Start-up (loading plugins, opening PGlite, migrations) on a busy machine; a lock that waited
    // for a staleness timeout would add its timeout on top.
    expect(restartMs).toBeLessThan(30_000);
    const after = await owner.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/runs?pipeline=sample',
    );
    expect(after.body.items.map((r) => r.id)).toEqual(before.body.items.map((r) => r.id));
    // The new server owns the folder in turn.
    const migrate = await cli(['migrate', '--config', config], dir);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toContain(`is in use by process ${owner.child.pid}`);
    // A graceful shutdown releases the folder: a backup now goes through.
    await owner.stop();
    expect(existsSync(join(data, 'sluice.lock'))).toBe(false);
    const file = join(dir, 'after.tgz');
    const backup = spawnSync(
      'bash',
      [join(ROOT, 'scripts/backup.sh'), 'backup', '--data-dir', data, '--file', file],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(backup.status, backup.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
  }, 300_000);
});
