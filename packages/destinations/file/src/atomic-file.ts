/**
 * Crash-safe file writes. A whole file is never written in place: a new version is built in a
 * hidden temporary file next to it, flushed to disk (fsync), renamed over the target (an atomic
 * step on POSIX file systems) and the folder is flushed, so after a crash a reader sees either
 * the old complete file or the new complete file, never a torn one.
 *
 * Appended files are the exception, by design: they are extended in place (see `append-file.ts`)
 * and a torn end is cut back to the committed length recorded in their state file. This module
 * gives them the opening rules every file here follows ({@link openForAppend},
 * {@link createForAppend}).
 *
 * Every name is resolved in an opened {@link Folder} (see `confined-root.ts`), never through a
 * symbolic link: a link at the target's name is refused before anything is written, files are
 * opened with `O_NOFOLLOW` (an appended file is refused when it has other hard links, one of
 * which may be outside the root), and temporary files are created with
 * `O_CREAT | O_EXCL | O_NOFOLLOW` under a random name.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { HardLinkRefusedError, type Folder } from './confined-root.js';

/**
 * The file's current ending is not what this destination wrote (edited by hand, written by
 * another tool), so appending would corrupt it.
 */
export class UnexpectedFileEndError extends Error {
  override readonly name = 'UnexpectedFileEndError';
}

const CREATE_NEW = constants.O_CREAT | constants.O_EXCL;

function tempNameFor(name: string): string {
  return `.${name}.${randomBytes(6).toString('hex')}.tmp`;
}

/** The names {@link tempNameFor} makes: `.<name>.<12 hex digits>.tmp`. */
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** Tells whether `name` is a temporary file {@link writeFileAtomic} left behind (a regular file named like one). */
export function isLeftoverTemp(name: string, stats: Stats): boolean {
  return stats.isFile() && TEMP_NAME.test(name);
}

/**
 * Visits every entry under the root (at most `maxFolders` folders), each in its opened folder:
 * every folder is opened through `openFolder` (links refused), every entry is looked at with
 * `lstat` in that opened folder, and a symbolic link is never visited or followed.
 *
 * @example
 * ```ts
 * await walkRoot((relative) => confined.openFolder(relative), async (folder, name, stats) => {
 *   if (stats.isFile()) console.log(folder.describe(name));
 * });
 * ```
 */
export async function walkRoot(
  openFolder: (relative: string) => Promise<Folder>,
  visit: (folder: Folder, name: string, stats: Stats) => Promise<void>,
  maxFolders = 10_000,
): Promise<void> {
  const pending: string[] = [''];
  let visited = 0;
  while (pending.length > 0 && visited < maxFolders) {
    const relative = pending.shift()!;
    visited++;
    const folder = await openFolder(relative);
    try {
      for (const name of await folder.list()) {
        let stats;
        try {
          stats = await folder.lstat(name);
        } catch {
          continue; // a symbolic link: never followed, never visited
        }
        if (stats === undefined) continue;
        if (stats.isDirectory()) pending.push(relative === '' ? name : `${relative}/${name}`);
        else await visit(folder, name, stats);
      }
    } finally {
      await folder.close();
    }
  }
}

/**
 * Removes a temporary file of an atomic write that never finished (the process was killed
 * between creating and renaming it) and returns its path relative to the root, or `undefined`
 * when `name` is not one. A temporary file has a random name that no later write reuses, so
 * without this it would stay beside the output forever. Two live processes must not share one
 * output folder (appends are serialised per process only), so a temporary file found when the
 * destination opens belongs to no running write.
 *
 * @example
 * ```ts
 * await walkRoot(open, async (folder, name, stats) => void (await removeLeftoverTemp(folder, name, stats)));
 * ```
 */
export async function removeLeftoverTemp(
  folder: Folder,
  name: string,
  stats: Stats,
): Promise<string | undefined> {
  if (!isLeftoverTemp(name, stats)) return undefined;
  await fs.unlink(folder.entry(name)).catch(() => undefined);
  await folder.sync().catch(() => undefined);
  return folder.describe(name);
}

/**
 * Removes the temporary files of atomic writes that never finished anywhere under the root (see
 * {@link removeLeftoverTemp}) and returns their paths relative to the root. Only regular files
 * with the temporary-name pattern are unlinked; links are never followed or removed.
 *
 * @example
 * ```ts
 * const removed = await removeLeftoverTempFiles((relative) => confined.openFolder(relative));
 * // ["out/.data.csv.3f9a0c1b2d4e.tmp"]
 * ```
 */
export async function removeLeftoverTempFiles(
  openFolder: (relative: string) => Promise<Folder>,
  maxFolders = 10_000,
): Promise<string[]> {
  const removed: string[] = [];
  await walkRoot(
    openFolder,
    async (folder, name, stats) => {
      const gone = await removeLeftoverTemp(folder, name, stats);
      if (gone !== undefined) removed.push(gone);
    },
    maxFolders,
  );
  return removed;
}

async function removeQuietly(folder: Folder, name: string): Promise<void> {
  await fs.unlink(folder.entry(name)).catch(() => undefined);
}

/** Fills the open temporary file, flushes it, renames it over `target` and flushes the folder. */
async function fillAndReplace(
  folder: Folder,
  temp: string,
  handle: fs.FileHandle,
  target: string,
  fill: (handle: fs.FileHandle) => Promise<void>,
): Promise<void> {
  try {
    try {
      await folder.verify({ name: temp, handle });
      await fill(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // A link swapped in at the target's name since it was checked is replaced, not followed.
    await folder.verify();
    await fs.rename(folder.entry(temp), folder.entry(target));
  } catch (err) {
    await removeQuietly(folder, temp);
    throw err;
  }
  await folder.sync();
}

/**
 * Writes `data` as the complete new content of `name` in `folder`, atomically. A symbolic link
 * at `name` is refused (`SymlinkRefusedError`), not replaced.
 *
 * @example
 * ```ts
 * await writeFileAtomic(folder, 'a.ndjson', [Buffer.from('{"a":1}\n')]);
 * ```
 */
export async function writeFileAtomic(
  folder: Folder,
  name: string,
  data: readonly Uint8Array[],
): Promise<void> {
  await folder.lstat(name);
  const temp = tempNameFor(name);
  await folder.verify();
  const handle = await folder.open(temp, constants.O_WRONLY | CREATE_NEW, 0o666);
  await fillAndReplace(folder, temp, handle, name, async (file) => {
    for (const chunk of data) await file.write(chunk);
  });
}

/**
 * Opens the existing file `name` to extend it in place: a regular file with no other name (a
 * second hard link may be outside the root: `HardLinkRefusedError`), opened with `O_NOFOLLOW` (a
 * link is a `SymlinkRefusedError`) and, without folder handles, checked to be the file at its name.
 *
 * @example
 * ```ts
 * const { handle, stats } = await openForAppend(folder, 'a.ndjson');
 * ```
 */
export async function openForAppend(
  folder: Folder,
  name: string,
): Promise<{ handle: fs.FileHandle; stats: Stats }> {
  await folder.verify();
  const handle = await folder.open(name, constants.O_RDWR);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${folder.describe(name)} is not a regular file`);
    if (stats.nlink > 1)
      throw new HardLinkRefusedError(folder.root, folder.describe(name), stats.nlink);
    await folder.verify({ name, handle });
    return { handle, stats };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Creates `name` (which must not exist: `O_CREAT | O_EXCL | O_NOFOLLOW`) to be filled in place.
 *
 * @example
 * ```ts
 * const { handle, stats } = await createForAppend(folder, 'a.ndjson');
 * ```
 */
export async function createForAppend(
  folder: Folder,
  name: string,
): Promise<{ handle: fs.FileHandle; stats: Stats }> {
  await folder.verify();
  const handle = await folder.open(name, constants.O_RDWR | CREATE_NEW, 0o666);
  try {
    await folder.verify({ name, handle });
    return { handle, stats: await handle.stat() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** `sessions.ndjson.gz` → stem `sessions`, ext `.ndjson.gz` (with gzip). */
function splitName(name: string, gzip: boolean): { stem: string; ext: string } {
  let ext = path.extname(name);
  if (gzip && ext === '.gz') ext = path.extname(name.slice(0, -3)) + ext;
  return { stem: name.slice(0, name.length - ext.length), ext };
}

/**
 * Moves a full file aside under a name stamped with `startedAt` (the time the file was begun,
 * `sessions.20261124T080000000Z.ndjson`), so the next append starts a new file. Returns the new
 * name. A symbolic link at `name` is refused; a name already taken (by anything, a link too) is
 * skipped for the next free one.
 *
 * @example
 * ```ts
 * await rotateFile(folder, 'sessions.ndjson', Date.now(), false);
 * ```
 */
export async function rotateFile(
  folder: Folder,
  name: string,
  startedAt: number,
  gzip: boolean,
): Promise<string> {
  await folder.lstat(name);
  const { stem, ext } = splitName(name, gzip);
  const stamp = new Date(startedAt).toISOString().replace(/[-:.]/g, '');
  for (let n = 0; ; n++) {
    const candidate = `${stem}.${stamp}${n === 0 ? '' : `-${n}`}${ext}`;
    try {
      // link + unlink instead of rename: link fails when the name is taken, so no file is overwritten.
      await folder.verify();
      await fs.link(folder.entry(name), folder.entry(candidate));
      await fs.unlink(folder.entry(name));
      await folder.sync();
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Finishes a rotation a crash interrupted between its `link` and `unlink`: when `name` has a
 * second name that is one of its rotated names in the same folder, `name` is removed (the data
 * stays under the rotated name) and `true` is returned. Any other second name is left alone
 * (`false`): it may be outside the root, so the caller refuses the file.
 *
 * @example
 * ```ts
 * if (stats.nlink > 1 && (await finishInterruptedRotation(folder, 'log.ndjson', stats, false))) size = -1;
 * ```
 */
export async function finishInterruptedRotation(
  folder: Folder,
  name: string,
  stats: { dev: number; ino: number; nlink: number },
  gzip: boolean,
): Promise<boolean> {
  if (stats.nlink !== 2) return false;
  const { stem, ext } = splitName(name, gzip);
  const rotated = new RegExp(
    `^${escapeRegExp(stem)}\\.\\d{8}T\\d{9}Z(?:-\\d+)?${escapeRegExp(ext)}$`,
  );
  for (const candidate of await folder.list()) {
    if (!rotated.test(candidate)) continue;
    const other = await fs.lstat(folder.entry(candidate)).catch(() => undefined);
    if (
      other === undefined ||
      other.isSymbolicLink() ||
      other.dev !== stats.dev ||
      other.ino !== stats.ino
    )
      continue;
    await fs.unlink(folder.entry(name));
    await folder.sync();
    return true;
  }
  return false;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
