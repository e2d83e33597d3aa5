/**
 * Files under `root` without ever following a symbolic link inside it.
 *
 * `root` is resolved once with `realpath` (a root that is itself a link, or lies under one, is
 * the operator's choice and is honoured as it was when resolved; re-pointing that link later
 * does not move the writes). Below the resolved root nothing is followed: every folder between
 * the root and a file is checked with `lstat` and then opened with `O_DIRECTORY | O_NOFOLLOW`,
 * missing folders are created with `mkdir` (which never follows a link at its own name) and
 * opened the same way, and every file is opened with `O_NOFOLLOW`. A link anywhere on the way is
 * a {@link SymlinkRefusedError}.
 *
 * Checking a path and then using it is a race (a link can be swapped in between). Node has no
 * `openat`, so on Linux the opened folder itself is the handle: every later step (creating the
 * temporary file, `rename`, `link`, `unlink`, `lstat`) names its file as
 * `/proc/self/fd/<folder fd>/<name>`, which the kernel resolves to the opened folder whatever
 * happens to the path above it. A link swapped in after a folder was opened is never used; one
 * swapped in before is refused by `O_NOFOLLOW`. Where `/proc/self/fd` is not available (macOS,
 * a container without /proc) the same checks run on plain paths and are repeated (`lstat` of every
 * folder compared with the opened one by device and inode) before each file is created, filled
 * and renamed; a link swapped in between that re-check and the next system call is the window
 * that remains there.
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';

// Windows has neither; there `lstat` is the whole check.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;

/**
 * A symbolic link where the file destination refuses to follow one: a folder or file inside
 * its root (`link` is relative to the root; `''` is the root folder itself).
 *
 * @example
 * ```ts
 * if (err instanceof SymlinkRefusedError) console.log(err.link, err.target); // "out", "/etc"
 * ```
 */
export class SymlinkRefusedError extends Error {
  override readonly name = 'SymlinkRefusedError';
  constructor(
    readonly root: string,
    readonly link: string,
    readonly target: string | undefined,
  ) {
    super(
      `${link === '' ? 'the root folder' : `"${link}" under ${root}`} is a symbolic link${target === undefined ? '' : ` (to ${target})`}; ` +
        'the file destination never follows symbolic links inside its root',
    );
  }
}

/**
 * A file inside the root that has other names (hard links): one of them may be outside the root,
 * so the destination neither reads it into the root nor appends to it.
 *
 * @example
 * ```ts
 * if (err instanceof HardLinkRefusedError) console.log(err.file, err.links); // "out/a.ndjson", 2
 * ```
 */
export class HardLinkRefusedError extends Error {
  override readonly name = 'HardLinkRefusedError';
  constructor(
    readonly root: string,
    readonly file: string,
    readonly links: number,
  ) {
    super(
      `"${file}" under ${root} has ${links} hard links (another name of it may be outside the root); ` +
        'the file destination only appends to files it alone names',
    );
  }
}

/** One opened folder under the root; every name is resolved in this very folder. */
export interface Folder {
  /** The real path of the root. */
  readonly root: string;
  /** The folder relative to the root, with `/` between segments (`''` for the root). */
  readonly relative: string;
  /** A path naming `name` in this folder (on Linux through the folder's handle). */
  entry(name: string): string;
  /** `name` relative to the root, for messages. */
  describe(name: string): string;
  /** The names in this folder. */
  list(): Promise<string[]>;
  /** `lstat` of `name`: `undefined` when it does not exist; a link is refused. */
  lstat(name: string): Promise<Stats | undefined>;
  /** Opens `name` with `O_NOFOLLOW` added to `flags`; a link is refused. */
  open(name: string, flags: number, mode?: number): Promise<fs.FileHandle>;
  /** A path that reopens exactly the file behind `handle`, when the platform has one (Linux). */
  fileRef(handle: fs.FileHandle): string | undefined;
  /**
   * Where there are no folder handles: re-checks that no folder on the way was swapped, and that
   * `file` (a file just created) is the one at its name in this folder. A no-op with handles.
   */
  verify(file?: { name: string; handle: fs.FileHandle }): Promise<void>;
  /** fsync of the folder (after a rename, so the new name survives a crash). */
  sync(): Promise<void>;
  /** `err` with this folder's handle paths (`/proc/self/fd/N`) replaced by its real path, for messages. */
  explain(err: unknown): unknown;
  close(): Promise<void>;
}

/** The root of one file destination. */
export interface ConfinedRoot {
  /** The root as configured (absolute). */
  readonly root: string;
  /** Resolves the root's real path now when the folder exists; otherwise at the first write. Never throws. */
  pin(): Promise<void>;
  /** The real path of the root, resolved once (the folder is created when missing). */
  realRoot(): Promise<string>;
  /** Opens the folder at `relative` (`a/b`, no `.` or `..`), creating missing folders, refusing links. */
  openFolder(relative: string): Promise<Folder>;
}

/** Options of {@link confineTo}. */
export interface ConfineOptions {
  /**
   * Use folder handles (`/proc/self/fd`). Default: when the platform has them. `false` runs the
   * path-based checks only (what non-Linux platforms get).
   */
  handles?: boolean;
}

let handlesAvailable: boolean | undefined;

async function detectHandles(folder: fs.FileHandle): Promise<boolean> {
  if (handlesAvailable === undefined) {
    try {
      const [viaProc, direct] = await Promise.all([
        fs.stat(`/proc/self/fd/${folder.fd}/.`),
        folder.stat(),
      ]);
      handlesAvailable = viaProc.ino === direct.ino && viaProc.dev === direct.dev;
    } catch {
      handlesAvailable = false;
    }
  }
  return handlesAvailable;
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

async function lstatOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(file);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * Creates `absolute` and its missing parents, one level at a time. Not `fs.mkdir(..., { recursive:
 * true })`: on a parent that exists but refuses new entries with ENOENT (procfs, sysfs: `root:
 * /proc/sluice-x`) Node's recursive mkdir never returns — it retries in a thread-pool thread
 * forever — so the write that asked for the root, and its run, would never end. Here the
 * refusal is an error naming the folder.
 */
async function makeFolders(absolute: string): Promise<void> {
  const missing: string[] = [];
  for (let at = absolute; ; at = path.dirname(at)) {
    if (await lstatOrUndefined(at)) break;
    missing.push(at);
    if (path.dirname(at) === at) break;
  }
  for (const folder of missing.reverse()) {
    try {
      await fs.mkdir(folder);
    } catch (err) {
      if (isCode(err, 'EEXIST')) continue;
      const cause = err as NodeJS.ErrnoException;
      throw Object.assign(
        new Error(
          `cannot create the folder ${folder}: ${cause.code ?? cause.message} (its parent ${path.dirname(folder)} does not accept new folders)`,
          { cause: err },
        ),
        {
          code: cause.code,
        },
      );
    }
  }
}

async function linkTarget(file: string): Promise<string | undefined> {
  try {
    return await fs.readlink(file);
  } catch {
    return undefined;
  }
}

/** Replaces `from` by `to` in the message and paths of a Node error (handle paths mean nothing to a reader). */
function rewritePaths(err: unknown, from: string, to: string): unknown {
  if (!(err instanceof Error)) return err;
  const errno = err as NodeJS.ErrnoException & { dest?: string };
  err.message = err.message.split(from).join(to);
  if (typeof errno.path === 'string') errno.path = errno.path.split(from).join(to);
  if (typeof errno.dest === 'string') errno.dest = errno.dest.split(from).join(to);
  return err;
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`"${name}" is not a single file name`);
  }
}

interface Step {
  relative: string;
  path: string;
  dev: number;
  ino: number;
}

/**
 * The root of a file destination: opens folders and files under it, refusing symbolic links.
 *
 * @example
 * ```ts
 * const confined = confineTo('/var/lib/sluice/exports');
 * const folder = await confined.openFolder('sessions/2026-11-24');
 * try {
 *   await folder.lstat('email.ndjson');
 * } finally {
 *   await folder.close();
 * }
 * ```
 */
export function confineTo(root: string, options: ConfineOptions = {}): ConfinedRoot {
  const absolute = path.resolve(root);
  let resolved: Promise<string> | undefined;

  function resolveOnce(create: boolean): Promise<string> {
    if (resolved === undefined) {
      const attempt = (async () => {
        if (create) await makeFolders(absolute);
        return fs.realpath(absolute);
      })();
      resolved = attempt;
      // A failed resolution (no folder yet, I/O error) is tried again next time.
      attempt.catch(() => {
        if (resolved === attempt) resolved = undefined;
      });
    }
    return resolved;
  }

  async function refuse(real: string, relative: string, at: string): Promise<SymlinkRefusedError> {
    return new SymlinkRefusedError(real, relative, await linkTarget(at));
  }

  async function openDirectory(real: string, relative: string, at: string): Promise<fs.FileHandle> {
    try {
      return await fs.open(at, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      // O_NOFOLLOW on a link gives ELOOP, or ENOTDIR together with O_DIRECTORY (Linux).
      if (
        isCode(err, 'ELOOP', 'ENOTDIR', 'EMLINK') &&
        (await lstatOrUndefined(at))?.isSymbolicLink()
      )
        throw await refuse(real, relative, at);
      throw err;
    }
  }

  return {
    root: absolute,

    async pin() {
      // Not there yet (or not readable now): the first write creates and resolves it, or fails with the reason.
      await resolveOnce(false).catch(() => undefined);
    },

    realRoot: () => resolveOnce(true),

    async openFolder(relative) {
      const real = await resolveOnce(true);
      const names = relative === '' ? [] : relative.split('/');
      for (const name of names) checkName(name);
      let handle = await openDirectory(real, '', real);
      try {
        const useHandles = options.handles ?? (await detectHandles(handle));
        const chain: Step[] = [];
        if (!useHandles) {
          const stats = await handle.stat();
          chain.push({ relative: '', path: real, dev: stats.dev, ino: stats.ino });
        }
        let at = '';
        for (const name of names) {
          const next = at === '' ? name : `${at}/${name}`;
          const entry = useHandles ? `/proc/self/fd/${handle.fd}/${name}` : path.join(real, next);
          const parent = {
            handle: `/proc/self/fd/${handle.fd}`,
            real: at === '' ? real : path.join(real, at),
          };
          try {
            const before = await lstatOrUndefined(entry);
            if (before?.isSymbolicLink()) throw await refuse(real, next, entry);
            if (before === undefined) {
              try {
                await fs.mkdir(entry);
              } catch (err) {
                // Made meanwhile (by another write, or a link swapped in: the open below decides).
                if (!isCode(err, 'EEXIST')) throw err;
              }
            }
            const child = await openDirectory(real, next, entry);
            try {
              if (!useHandles) {
                const opened = await child.stat();
                const now = await lstatOrUndefined(entry);
                if (now?.isSymbolicLink()) throw await refuse(real, next, entry);
                if (now === undefined || now.dev !== opened.dev || now.ino !== opened.ino) {
                  throw new Error(`"${next}" under ${real} changed while it was being opened`);
                }
                chain.push({ relative: next, path: entry, dev: opened.dev, ino: opened.ino });
              }
            } catch (err) {
              await child.close();
              throw err;
            }
            await handle.close();
            handle = child;
            at = next;
          } catch (err) {
            throw rewritePaths(err, parent.handle, parent.real);
          }
        }
        return folderOf(real, at, handle, useHandles, chain);
      } catch (err) {
        await handle.close();
        throw err;
      }
    },
  };

  function folderOf(
    real: string,
    relative: string,
    handle: fs.FileHandle,
    useHandles: boolean,
    chain: readonly Step[],
  ): Folder {
    const folderPath = relative === '' ? real : path.join(real, relative);
    const entry = (name: string) => {
      checkName(name);
      return useHandles ? `/proc/self/fd/${handle.fd}/${name}` : path.join(folderPath, name);
    };
    const describe = (name: string) => (relative === '' ? name : `${relative}/${name}`);
    return {
      root: real,
      relative,
      entry,
      describe,
      list: () => fs.readdir(useHandles ? `/proc/self/fd/${handle.fd}` : folderPath),
      async lstat(name) {
        const at = entry(name);
        const stats = await lstatOrUndefined(at);
        if (stats?.isSymbolicLink()) throw await refuse(real, describe(name), at);
        return stats;
      },
      async open(name, flags, mode) {
        const at = entry(name);
        try {
          return await fs.open(at, flags | O_NOFOLLOW, mode);
        } catch (err) {
          if (
            isCode(err, 'ELOOP', 'EMLINK') ||
            (isCode(err, 'EEXIST', 'ENOTDIR') && (await lstatOrUndefined(at))?.isSymbolicLink())
          ) {
            throw await refuse(real, describe(name), at);
          }
          throw err;
        }
      },
      fileRef: (file) => (useHandles ? `/proc/self/fd/${file.fd}` : undefined),
      async verify(file) {
        const checkChain = async () => {
          for (const step of chain) {
            const now = await lstatOrUndefined(step.path);
            if (now?.isSymbolicLink()) throw await refuse(real, step.relative, step.path);
            if (now === undefined || now.dev !== step.dev || now.ino !== step.ino) {
              throw new Error(
                `"${step.relative || '.'}" under ${real} was replaced during the write`,
              );
            }
          }
        };
        if (useHandles) return;
        await checkChain();
        if (file === undefined) return;
        // A file created while a link was swapped in (and out again) is not at its name here.
        const [opened, named] = await Promise.all([
          file.handle.stat(),
          lstatOrUndefined(entry(file.name)),
        ]);
        if (named === undefined || named.dev !== opened.dev || named.ino !== opened.ino) {
          throw new Error(`${describe(file.name)} under ${real} is not the file that was created`);
        }
        await checkChain();
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
      explain: (err) =>
        useHandles ? rewritePaths(err, `/proc/self/fd/${handle.fd}`, folderPath) : err,
    };
  }
}
