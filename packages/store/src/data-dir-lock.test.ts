// One owner per PGlite data folder: a second open (in this process or another) is refused with
// the folder and the owner's pid; a killed owner's lock does not block the next open; an owner
// that cannot be checked by pid is judged by its heartbeat; concurrent takeovers have one winner.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from './create-store.js';
import {
  acquireDataDirLock,
  DATA_DIR_LOCK_FILE,
  DataDirLockedError,
  type DataDirLock,
  type DataDirLockLostError,
} from './data-dir-lock.js';

const DIST = resolve(import.meta.dirname, '../dist/index.js');
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function tempFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-lock-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function open(dataDir: string): Promise<Store> {
  const store = await createStore({ dataDir });
  cleanup.push(() => store.close());
  return store;
}

async function refusal(promise: Promise<unknown>): Promise<DataDirLockedError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, 'the second open must be refused').toBeInstanceOf(DataDirLockedError);
  return error as DataDirLockedError;
}

/** A child process that opens a store on `dataDir` (the built package), writes a row and waits. */
async function ownerProcess(
  dataDir: string,
  after = 'wait',
): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  if (!existsSync(DIST))
    throw new Error(
      `${DIST} is missing: build @sluice/store first (npx nx run @sluice/store:build)`,
    );
  const script = `
    const { createStore } = await import(${JSON.stringify(pathToFileURL(DIST).href)});
    const store = await createStore({ dataDir: ${JSON.stringify(dataDir)} });
    await store.migrate();
    await store.checkpoints.commit('owner', { cursor: 'written-by-the-owner' });
    process.stdout.write('ready\\n');
    // 'exit': leave without closing the store when told to (a line on stdin).
    if (${JSON.stringify(after)} === 'exit') process.stdin.once('data', () => process.exit(0));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`the owner process did not open the store:\n${output}`)),
      60_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready\n')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      if (!output.includes('ready\n'))
        fail(new Error(`the owner process exited (${code}):\n${output}`));
      else ready();
    });
  });
  return { child, exited };
}

/** Writes a lock file as another owner would (the protocol's fields). */
function writeForeignLock(dataDir: string, fields: Record<string, string | number>): string {
  const text =
    ['sluice-data-dir-lock 1', ...Object.entries(fields).map(([k, v]) => `${k}=${v}`)].join('\n') +
    '\n';
  writeFileSync(join(dataDir, DATA_DIR_LOCK_FILE), text);
  return text;
}

describe('data folder ownership lock', () => {
  it('refuses a second store on the same folder in this process, naming the folder and the pid', async () => {
    const dir = await tempFolder();
    const first = await open(dir);
    const error = await refusal(createStore({ dataDir: dir }));
    expect(error.code).toBe('SLUICE_ERR_DATA_DIR_LOCKED');
    expect(error.message).toContain(dir);
    expect(error.message).toContain(`process ${process.pid}`);
    expect(error.owner).toMatchObject({ pid: process.pid, hostname: hostname(), local: true });
    expect(error.toJSON().details).toMatchObject({ dataDir: dir, pid: process.pid });
    // A relative path to the same folder is the same folder.
    await refusal(createStore({ dataDir: relative(process.cwd(), dir) }));
    // The first store is unaffected.
    await first.ping();
    // Closing releases the lock: the folder opens again.
    await first.close();
    expect(existsSync(join(dir, DATA_DIR_LOCK_FILE))).toBe(false);
    const again = await open(dir);
    await again.ping();
    // Someone replaced the lock file (a second owner): at the next heartbeat the store stops
    // using the folder instead of writing next to the other owner.
    writeForeignLock(dir, {
      pid: 1,
      host: 'thief',
      boot: 'x',
      pidns: 'y',
      start: '1',
      since: 'now',
      program: 'node',
      token: 'stolen',
    });
    await expect
      .poll(
        () =>
          again.ping().then(
            () => 'open',
            () => 'closed',
          ),
        { timeout: 10_000, interval: 250 },
      )
      .toBe('closed');
    expect(readFileSync(join(dir, DATA_DIR_LOCK_FILE), 'utf8')).toContain('token=stolen');
  }, 180_000);

  it('refuses while another process owns the folder, and opens at once after that owner was killed with SIGKILL', async () => {
    const dir = await tempFolder();
    const owner = await ownerProcess(dir);
    const error = await refusal(createStore({ dataDir: dir }));
    expect(error.message).toContain(dir);
    expect(error.message).toContain(`process ${owner.child.pid}`);
    expect(error.owner?.pid).toBe(owner.child.pid);

    owner.child.kill('SIGKILL');
    await owner.exited;
    expect(existsSync(join(dir, DATA_DIR_LOCK_FILE)), 'kill -9 leaves the lock file behind').toBe(
      true,
    );
    const started = Date.now();
    const store = await open(dir);
    const elapsed = Date.now() - started;
    console.log(
      `[data-dir-lock] open after the owner's SIGKILL: ${elapsed} ms (PGlite open included)`,
    );
    // The dead owner is recognised by pid, not after a timeout.
    expect(elapsed).toBeLessThan(5000);
    expect(await store.checkpoints.get('owner')).toEqual({ cursor: 'written-by-the-owner' });
    // The new owner's lock now refuses others.
    await refusal(createStore({ dataDir: dir }));
  }, 180_000);

  it('releases the lock when the owner exits without closing its store', async () => {
    const dir = await tempFolder();
    const owner = await ownerProcess(dir, 'exit');
    expect(readFileSync(join(dir, DATA_DIR_LOCK_FILE), 'utf8')).toContain(
      `pid=${owner.child.pid}\n`,
    );
    owner.child.stdin!.write('exit\n');
    expect(await owner.exited).toBe(0);
    expect(existsSync(join(dir, DATA_DIR_LOCK_FILE))).toBe(false);
    await (await open(dir)).ping();
  }, 180_000);

  it('takes over a lock whose pid is gone or was reused by another process', async () => {
    const dir = await tempFolder();
    const local = {
      host: hostname(),
      boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    };
    const pidns = readlinkSync('/proc/self/ns/pid');
    // A pid that does not exist (above the kernel's pid_max).
    writeForeignLock(dir, {
      pid: 99_999_999,
      ...local,
      pidns,
      start: '12345',
      since: '2026-01-01T00:00:00Z',
      program: 'node cli.js',
      token: 'dead',
    });
    const first = await acquireDataDirLock(dir);
    await first.release();
    // A live pid (our parent) with another start time: the pid was reused, the owner is gone.
    writeForeignLock(dir, {
      pid: process.ppid,
      ...local,
      pidns,
      start: '1',
      since: '2026-01-01T00:00:00Z',
      program: 'node cli.js',
      token: 'reused',
    });
    const second = await acquireDataDirLock(dir);
    expect(readFileSync(join(dir, DATA_DIR_LOCK_FILE), 'utf8')).toContain(`pid=${process.pid}\n`);
    await second.release();
    // The same live pid with its real start time is a live owner.
    const parentStat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const parentStart = parentStat.slice(parentStat.lastIndexOf(')') + 2).split(' ')[19] as string;
    writeForeignLock(dir, {
      pid: process.ppid,
      ...local,
      pidns,
      start: parentStart,
      since: '2026-01-01T00:00:00Z',
      program: 'node cli.js',
      token: 'live',
    });
    const error = await refusal(acquireDataDirLock(dir));
    expect(error.owner).toMatchObject({ pid: process.ppid, program: 'node cli.js', local: true });
  });

  it('judges an owner on another machine by its heartbeat: refuses while it beats, takes over once it stopped', async () => {
    const dir = await tempFolder();
    const path = join(dir, DATA_DIR_LOCK_FILE);
    writeForeignLock(dir, {
      pid: 4242,
      host: 'other-host',
      boot: 'b',
      pidns: 'pid:[1]',
      start: '7',
      since: '2026-01-01T00:00:00Z',
      program: 'backup.sh',
      token: 'remote',
    });
    let beat = 0;
    const heart = setInterval(() => {
      beat += 1;
      const at = new Date(Date.now() + beat * 1000);
      utimesSync(path, at, at);
    }, 100);
    const error = await refusal(acquireDataDirLock(dir, { heartbeatMs: 100, staleMs: 1000 }));
    expect(error.owner).toMatchObject({
      pid: 4242,
      hostname: 'other-host',
      program: 'backup.sh',
      local: false,
    });
    expect(error.message).toContain('process 4242 (backup.sh on host other-host');
    clearInterval(heart);
    // Stopped beating (the remote owner died): taken over after staleMs without a heartbeat,
    // whatever the file's mtime says about the other machine's clock.
    const started = Date.now();
    const lock = await acquireDataDirLock(dir, { heartbeatMs: 100, staleMs: 1000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(readFileSync(path, 'utf8')).toContain(`pid=${process.pid}\n`);
    await lock.release();
  });

  it('keeps its heartbeat, and reports a lock that someone replaced without removing their file', async () => {
    const dir = await tempFolder();
    const path = join(dir, DATA_DIR_LOCK_FILE);
    const lost: DataDirLockLostError[] = [];
    const lock = await acquireDataDirLock(dir, { heartbeatMs: 50, onLost: (e) => lost.push(e) });
    cleanup.push(() => lock.release());
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    await new Promise((r) => setTimeout(r, 300));
    expect(statSync(path).mtimeMs).toBeGreaterThan(Date.now() - 10_000);
    writeForeignLock(dir, {
      pid: 1,
      host: 'thief',
      boot: 'x',
      pidns: 'y',
      start: '1',
      since: 'now',
      program: 'node',
      token: 'stolen',
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(lost).toHaveLength(1);
    expect(lost[0]?.code).toBe('SLUICE_ERR_DATA_DIR_LOCK_LOST');
    // Releasing a lost lock leaves the other owner's file alone.
    await lock.release();
    expect(readFileSync(path, 'utf8')).toContain('token=stolen');
  });

  it('gives a stale lock to exactly one of many concurrent openers', async () => {
    const dir = await tempFolder();
    const local = {
      host: hostname(),
      boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    };
    const pidns = readlinkSync('/proc/self/ns/pid');
    for (let round = 0; round < 5; round += 1) {
      writeForeignLock(dir, {
        pid: 99_999_999,
        ...local,
        pidns,
        start: '1',
        since: 'then',
        program: 'node',
        token: `dead-${round}`,
      });
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => acquireDataDirLock(dir)),
      );
      const won = results.filter(
        (r): r is PromiseFulfilledResult<DataDirLock> => r.status === 'fulfilled',
      );
      expect(won).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirLockedError);
      await won[0]?.value.release();
      expect(existsSync(`${join(dir, DATA_DIR_LOCK_FILE)}.takeover`)).toBe(false);
    }
  });
  it('gives up on a lock name it cannot read (a dangling symlink) instead of spinning', async () => {
    const dir = await tempFolder();
    symlinkSync(join(dir, 'nowhere'), join(dir, DATA_DIR_LOCK_FILE));
    await expect(acquireDataDirLock(dir)).rejects.toThrow(/exists but cannot be read/);
  });
});
