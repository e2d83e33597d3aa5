/**
 * One owner per PGlite data folder. PGlite is PostgreSQL compiled to WASM without a postmaster:
 * nothing stops a second process from opening the same folder, and two writers corrupt it (heap
 * tuples without index entries, lost rows). Every store that opens a folder first takes this lock.
 *
 * The lock is a small text file, `sluice.lock`, inside the data folder, created with `O_EXCL`. It
 * names its owner: pid, host name, boot id, pid namespace and the process start time. A second
 * process decides whether that owner is still alive:
 *
 * - **Same machine and pid namespace** (host name, `/proc/sys/kernel/random/boot_id` and
 *   `/proc/self/ns/pid` all equal): the owner is alive exactly when `/proc/<pid>/stat` exists and
 *   shows the recorded start time. A `kill -9`-ed owner is therefore seen as gone at once, a
 *   reused pid (another process started later under the same number) is not mistaken for it, and
 *   a live owner keeps its lock however long its event loop is blocked by a long query.
 * - **Anything else** (another container on a shared volume, a network file system, a system
 *   without `/proc`): the owner refreshes the file's mtime every `heartbeatMs`; the newcomer watches
 *   the file and refuses as soon as it sees the mtime move, and takes over once it has not moved for
 *   `staleMs` — comparing mtimes with each other only, never with its own clock, so clock skew
 *   between machines does not matter.
 *
 * Taking over a dead owner's lock happens under a second, short-lived guard (`sluice.lock.takeover`,
 * created with `mkdir`), and only after re-reading the file under that guard: two processes that
 * restart at once cannot both remove a lock and both win. `scripts/backup.sh` speaks the same
 * protocol (same file, same fields, same guard), so a backup and a server exclude each other.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { errorCatalog } from '@sluice/core';

/** Name of the lock file inside a PGlite data folder. */
export const DATA_DIR_LOCK_FILE = 'sluice.lock';
const HEADER = 'sluice-data-dir-lock 1';

/**
 * Stable codes of the lock's errors.
 *
 * @example
 * ```ts
 * if ((err as { code?: string }).code === DataDirLockErrorCodes.locked) process.exitCode = 1;
 * ```
 */
export const DataDirLockErrorCodes = {
  locked: errorCatalog.dataDirLocked.code,
  lost: errorCatalog.dataDirLockLost.code,
} as const;

/**
 * Who holds a data folder, as recorded in its lock file.
 *
 * @example
 * ```ts
 * const owner: DataDirOwner = { pid: 4711, hostname: 'web-1', program: 'node cli.js', since: '2026-11-25T08:00:00.000Z', local: true };
 * ```
 */
export interface DataDirOwner {
  /** Process id on the owner's machine (in its pid namespace). */
  pid: number;
  /** Host name of the owner's machine (`os.hostname()`). */
  hostname: string;
  /** What took the lock: `node` for a store, `backup.sh` for a backup. */
  program: string;
  /** When the lock was taken (ISO 8601). */
  since: string;
  /** True when the owner runs on this machine and in this pid namespace (its pid is checkable here). */
  local: boolean;
}

/**
 * Another process (or another store in this process) owns the data folder. Never retried: stop
 * the other owner, or give each process a folder of its own, or move to PostgreSQL.
 *
 * @example
 * ```ts
 * try { await createStore({ dataDir: '/var/lib/sluice/db' }); }
 * catch (err) { if (err instanceof DataDirLockedError) console.error(err.owner.pid); }
 * ```
 */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly code = DataDirLockErrorCodes.locked;
  readonly dataDir: string;
  readonly owner: DataDirOwner | undefined;

  // Plain fields, not parameter properties: the scheduler's child processes load this file with
  // Node's type stripping, which refuses TypeScript-only syntax.
  constructor(dataDir: string, owner: DataDirOwner | undefined) {
    super(
      `PGlite data folder ${dataDir} is in use by ${describeOwner(owner)}: one process owns a data ` +
        `folder. Stop that process first, or give this one its own --data-dir, or use PostgreSQL ` +
        `(store.url) to share a store between processes. (Lock file: ${join(dataDir, DATA_DIR_LOCK_FILE)})`,
    );
    this.dataDir = dataDir;
    this.owner = owner;
  }

  /** A JSON-safe view for logs and `--json` output. */
  toJSON(): { code: string; name: string; message: string; details: Record<string, unknown> } {
    return {
      code: this.code,
      name: this.name,
      message: this.message,
      details: {
        dataDir: this.dataDir,
        ...(this.owner
          ? {
              pid: this.owner.pid,
              hostname: this.owner.hostname,
              program: this.owner.program,
              since: this.owner.since,
            }
          : {}),
      },
    };
  }
}

/**
 * The lock file was removed or replaced by someone else while this process held it. The store
 * logs it and closes itself rather than write next to another owner.
 *
 * @example
 * ```ts
 * const lock = await acquireDataDirLock(dir, { onLost: (err) => logger.error({ code: err.code }, err.message) });
 * ```
 */
export class DataDirLockLostError extends Error {
  override readonly name = 'DataDirLockLostError';
  readonly code = DataDirLockErrorCodes.lost;
  readonly dataDir: string;

  constructor(dataDir: string, detail: string) {
    super(
      `lost the ownership lock of PGlite data folder ${dataDir} (${detail}); another process may be ` +
        `writing to it: this store stops using the folder`,
    );
    this.dataDir = dataDir;
  }
}

function describeOwner(owner: DataDirOwner | undefined): string {
  if (owner === undefined) return 'a process that is still writing its lock file';
  const where = owner.local
    ? owner.pid === process.pid
      ? 'this process'
      : 'this machine'
    : `host ${owner.hostname}`;
  return `process ${owner.pid} (${owner.program} on ${where}, since ${owner.since})`;
}

/**
 * Options of {@link acquireDataDirLock}.
 *
 * @example
 * ```ts
 * const options: DataDirLockOptions = { heartbeatMs: 2000, staleMs: 10_000, program: 'backup' };
 * ```
 */
export interface DataDirLockOptions {
  /** How often the owner refreshes the lock file's mtime. Default 2000 ms. */
  heartbeatMs?: number;
  /**
   * When the owner cannot be checked by pid (another machine or pid namespace): how long its
   * lock file must go unrefreshed before it counts as dead. Default 10000 ms.
   */
  staleMs?: number;
  /** Recorded as the owner's program. Default `node <script>` (the main script's file name). */
  program?: string;
  /** Called once when the lock is found removed or replaced by someone else. */
  onLost?: (error: DataDirLockLostError) => void;
}

/**
 * A held lock.
 *
 * @example
 * ```ts
 * const lock: DataDirLock = await acquireDataDirLock('./.sluice');
 * await lock.release();
 * ```
 */
export interface DataDirLock {
  /** The data folder (absolute). */
  readonly dataDir: string;
  /** The lock file. */
  readonly path: string;
  /** Stops the heartbeat and removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

interface Identity {
  hostname: string;
  boot: string;
  pidns: string;
}

interface LockRecord {
  pid: number;
  hostname: string;
  boot: string;
  pidns: string;
  start: string;
  since: string;
  token: string;
  program: string;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

let identity: Identity | undefined;
function machine(): Identity {
  identity ??= {
    hostname: hostname(),
    boot: readText('/proc/sys/kernel/random/boot_id'),
    pidns: (() => {
      try {
        return readlinkSync('/proc/self/ns/pid');
      } catch {
        return '';
      }
    })(),
  };
  return identity;
}

const HAS_PROC = readText('/proc/self/stat') !== '';

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined when it does not exist. */
function startTimeOf(pid: number): string | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (text === '') return undefined;
  // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

function formatRecord(record: LockRecord): string {
  return (
    [
      HEADER,
      `pid=${record.pid}`,
      `host=${record.hostname}`,
      `boot=${record.boot}`,
      `pidns=${record.pidns}`,
      `start=${record.start}`,
      `since=${record.since}`,
      `program=${record.program}`,
      `token=${record.token}`,
    ].join('\n') + '\n'
  );
}

function parseRecord(text: string): LockRecord | undefined {
  const lines = text.split('\n');
  if (lines[0] !== HEADER) return undefined;
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const pid = Number(fields.get('pid'));
  const token = fields.get('token');
  if (!Number.isInteger(pid) || pid <= 0 || !token) return undefined;
  return {
    pid,
    hostname: fields.get('host') ?? '',
    boot: fields.get('boot') ?? '',
    pidns: fields.get('pidns') ?? '',
    start: fields.get('start') ?? '',
    since: fields.get('since') ?? '',
    program: fields.get('program') ?? 'unknown',
    token,
  };
}

function isLocal(record: LockRecord): boolean {
  const me = machine();
  return record.hostname === me.hostname && record.boot === me.boot && record.pidns === me.pidns;
}

function ownerOf(record: LockRecord): DataDirOwner {
  return {
    pid: record.pid,
    hostname: record.hostname,
    program: record.program,
    since: record.since,
    local: isLocal(record),
  };
}

type Verdict = 'alive' | 'dead' | 'unknown';

/** Whether the recorded owner is alive, decided by pid where that is reliable. */
function judge(record: LockRecord): Verdict {
  if (!isLocal(record)) return 'unknown';
  if (HAS_PROC) {
    const start = startTimeOf(record.pid);
    if (start === undefined) return 'dead';
    return start === record.start ? 'alive' : 'dead';
  }
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
  }
  // The pid exists but could have been reused: the heartbeat decides.
  return 'unknown';
}

function defaultProgram(): string {
  const script = process.argv[1];
  return script ? `node ${basename(script)}` : 'node';
}

const errno = (error: unknown) => (error as NodeJS.ErrnoException).code;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function readLock(path: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mtimeMs: info.mtimeMs };
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Removes the lock file if it still holds `expected` (the dead owner's text), under the takeover
 * guard so that two newcomers never both remove a lock and both win.
 */
async function takeOver(path: string, expected: string, staleMs: number): Promise<void> {
  const guard = `${path}.takeover`;
  try {
    await mkdir(guard);
  } catch (error) {
    if (errno(error) !== 'EEXIST') throw error;
    // Another newcomer is taking over right now (a few milliseconds), or died doing so.
    const info = await stat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > staleMs) await rmdir(guard).catch(() => undefined);
    return;
  }
  try {
    const current = await readLock(path);
    if (current?.text === expected)
      await unlink(path).catch((error: unknown) => {
        if (errno(error) !== 'ENOENT') throw error;
      });
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

/** Locks held by this process, removed synchronously if it exits without closing its stores. */
const held = new Map<string, string>();
let exitHookInstalled = false;
function releaseAllOnExit(): void {
  for (const [path, text] of held) {
    try {
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      // already gone
    }
  }
  held.clear();
}

/**
 * Takes the ownership lock of a PGlite data folder (which must exist), or throws
 * {@link DataDirLockedError} naming the folder and the owner's pid. A lock left by a dead owner
 * (`kill -9`, a crash, a power cut) is taken over; on the same machine at once, elsewhere after
 * `staleMs` without a heartbeat.
 *
 * @example
 * ```ts
 * const lock = await acquireDataDirLock('/var/lib/sluice/db');
 * const pglite = await PGlite.create('/var/lib/sluice/db');
 * // ... work ...
 * await pglite.close();
 * await lock.release();
 * ```
 */
export async function acquireDataDirLock(
  dataDir: string,
  options: DataDirLockOptions = {},
): Promise<DataDirLock> {
  const dir = resolve(dataDir);
  const path = join(dir, DATA_DIR_LOCK_FILE);
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const staleMs = options.staleMs ?? 10_000;
  const me = machine();
  const record: LockRecord = {
    pid: process.pid,
    hostname: me.hostname,
    boot: me.boot,
    pidns: me.pidns,
    start: startTimeOf(process.pid) ?? '',
    since: new Date().toISOString(),
    program: (options.program ?? defaultProgram()).replace(/[\r\n]/g, ' '),
    token: randomBytes(12).toString('hex'),
  };
  const text = formatRecord(record);

  // The owner seen last and since when its file has not changed (for owners not checkable by pid).
  let watched: { text: string; mtimeMs: number; since: number } | undefined;
  const giveUpAt = Date.now() + staleMs * 3 + 5000;
  let vanished = 0;
  for (;;) {
    try {
      await writeFile(path, text, { flag: 'wx', mode: 0o644 });
      break;
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw error;
    }
    const current = await readLock(path);
    if (current === undefined) {
      // Released meanwhile: try again. (A name that exists but cannot be read, such as a
      // dangling symlink, would loop forever: give up after a while.)
      vanished += 1;
      if (vanished > 100)
        throw new Error(`cannot take the data folder lock: ${path} exists but cannot be read`);
      continue;
    }
    const owner = parseRecord(current.text);
    const verdict = owner === undefined ? 'unknown' : judge(owner);
    if (verdict === 'alive') throw new DataDirLockedError(dir, ownerOf(owner as LockRecord));
    if (verdict === 'dead') {
      await takeOver(path, current.text, staleMs);
      continue;
    }
    // Not checkable by pid (or a file still being written): watch its heartbeat.
    const now = Date.now();
    if (watched === undefined || watched.text !== current.text) {
      watched = { text: current.text, mtimeMs: current.mtimeMs, since: now };
    } else if (current.mtimeMs !== watched.mtimeMs) {
      throw new DataDirLockedError(dir, owner && ownerOf(owner));
    } else if (now - watched.since >= staleMs) {
      await takeOver(path, current.text, staleMs);
      watched = undefined;
      continue;
    }
    if (now > giveUpAt) throw new DataDirLockedError(dir, owner && ownerOf(owner));
    await sleep(Math.min(250, heartbeatMs));
  }

  held.set(path, text);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', releaseAllOnExit);
  }

  let released = false;
  let beating = false;
  const lost = (detail: string) => {
    if (released) return;
    released = true;
    clearInterval(timer);
    held.delete(path);
    options.onLost?.(new DataDirLockLostError(dir, detail));
  };
  const timer = setInterval(() => {
    if (beating || released) return;
    beating = true;
    void (async () => {
      try {
        const current = await readFile(path, 'utf8');
        if (current !== text) return lost('the lock file now names another owner');
        const now = new Date();
        await utimes(path, now, now);
      } catch (error) {
        if (errno(error) === 'ENOENT') lost('the lock file was removed');
        // Other errors (a transient I/O error) are retried at the next beat.
      } finally {
        beating = false;
      }
    })();
  }, heartbeatMs);
  timer.unref();

  return {
    dataDir: dir,
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      held.delete(path);
      try {
        if ((await readFile(path, 'utf8')) === text) await unlink(path);
      } catch (error) {
        if (errno(error) !== 'ENOENT') throw error;
      }
    },
  };
}
