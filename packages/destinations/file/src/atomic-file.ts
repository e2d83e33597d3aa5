/**
 * Crash-safe file updates. Nothing is ever written in place: a new version of the file is built
 * in a hidden temporary file next to it, flushed to disk (fsync), renamed over the target (an
 * atomic step on POSIX file systems) and the folder is flushed, so after a crash a reader sees
 * either the old complete file or the new complete file, never a torn one.
 *
 * Appends use the same path: the current file is copied (`copyFile`, which the kernel does with
 * copy_file_range or a reflink, without passing the bytes through JavaScript), the new bytes are
 * added to the copy, and the copy is renamed over the original. The cost is that every append
 * copies the whole current file: keep appended files bounded with rotation (`rotate.maxBytes`).
 *
 * Every name is resolved in an opened {@link Folder} (see `confined-root.ts`), never through a
 * symbolic link: a link at the target's name is refused before anything is written, the current
 * file is opened with `O_NOFOLLOW` and copied from that open file (refused when it has other
 * hard links, one of which may be outside the root), and temporary files are created with
 * `O_CREAT | O_EXCL | O_NOFOLLOW` under a random name.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
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

/**
 * Removes the temporary files of atomic writes that never finished (the process was killed
 * between creating and renaming one) anywhere under the root, and returns their paths relative
 * to the root. Runs when the destination opens: a temporary file has a random name that no later
 * write reuses, so without this it would stay beside the output forever.
 *
 * The walk keeps the destination's guarantees: each folder is opened through
 * `openFolder` (links refused), every entry is looked at with `lstat` in that opened folder, a
 * symbolic link is never followed (neither a linked folder nor a linked file is touched), and only
 * regular files with the temporary-name pattern are unlinked. Two live processes must not share
 * one output folder (appends are serialised per process only), so a temporary file found at open
 * belongs to no running write.
 *
 * @example
 * ```ts
 * const removed = await removeLeftoverTempFiles((relative) => confined.openFolder(relative));
 * // ["out/.data.csv.3f9a0c1b2d4e.tmp"]
 * ```
 */
export async function removeLeftoverTempFiles(openFolder: (relative: string) => Promise<Folder>, maxFolders = 10_000): Promise<string[]> {
  const removed: string[] = [];
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
          continue; // a symbolic link: never followed, never removed
        }
        if (stats === undefined) continue;
        if (stats.isDirectory()) pending.push(relative === '' ? name : `${relative}/${name}`);
        else if (stats.isFile() && TEMP_NAME.test(name)) {
          await fs.unlink(folder.entry(name)).catch(() => undefined);
          removed.push(folder.describe(name));
        }
      }
      if (removed.length > 0) await folder.sync().catch(() => undefined);
    } finally {
      await folder.close();
    }
  }
  return removed;
}

async function removeQuietly(folder: Folder, name: string): Promise<void> {
  await fs.unlink(folder.entry(name)).catch(() => undefined);
}

/** Fills the open temporary file, flushes it, renames it over `target` and flushes the folder. */
async function fillAndReplace(folder: Folder, temp: string, handle: fs.FileHandle, target: string, fill: (handle: fs.FileHandle) => Promise<void>): Promise<void> {
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
export async function writeFileAtomic(folder: Folder, name: string, data: readonly Uint8Array[]): Promise<void> {
  await folder.lstat(name);
  const temp = tempNameFor(name);
  await folder.verify();
  const handle = await folder.open(temp, constants.O_WRONLY | CREATE_NEW, 0o666);
  await fillAndReplace(folder, temp, handle, name, async (file) => {
    for (const chunk of data) await file.write(chunk);
  });
}

async function copyByHandle(from: fs.FileHandle, to: fs.FileHandle): Promise<void> {
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (let position = 0; ; ) {
    const { bytesRead } = await from.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return;
    await to.write(buffer, 0, bytesRead, position);
    position += bytesRead;
  }
}

/** Copies the open `source` into a new temporary file `temp` and returns it opened for reading and writing. */
async function copyToTemp(folder: Folder, source: fs.FileHandle, temp: string): Promise<fs.FileHandle> {
  const ref = folder.fileRef(source);
  await folder.verify();
  if (ref !== undefined) {
    // The kernel copies from the very file opened above (its /proc/self/fd path), not from a name.
    await fs.copyFile(ref, folder.entry(temp), constants.COPYFILE_EXCL);
    return folder.open(temp, constants.O_RDWR);
  }
  const handle = await folder.open(temp, constants.O_RDWR | CREATE_NEW, 0o666);
  try {
    await copyByHandle(source, handle);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Appends `addition` to `name` in `folder` atomically, after removing `expectedTail` from its
 * end (the closing `]` of a JSON array). Throws {@link UnexpectedFileEndError} when the file does
 * not end with `expectedTail`, `SymlinkRefusedError` when `name` is a symbolic link and
 * `HardLinkRefusedError` when it has more than one name.
 *
 * @example
 * ```ts
 * await appendFileAtomic(folder, 'a.json', Buffer.from('\n]\n'), [Buffer.from(',\n{"a":2}\n]\n')]);
 * ```
 */
export async function appendFileAtomic(folder: Folder, name: string, expectedTail: Uint8Array, addition: readonly Uint8Array[]): Promise<void> {
  const temp = tempNameFor(name);
  const source = await folder.open(name, constants.O_RDONLY);
  let handle: fs.FileHandle;
  try {
    const stats = await source.stat();
    if (!stats.isFile()) throw new Error(`${folder.describe(name)} is not a regular file`);
    if (stats.nlink > 1) throw new HardLinkRefusedError(folder.root, folder.describe(name), stats.nlink);
    handle = await copyToTemp(folder, source, temp);
  } catch (err) {
    await removeQuietly(folder, temp);
    throw err;
  } finally {
    await source.close();
  }
  await fillAndReplace(folder, temp, handle, name, async (file) => {
    let { size } = await file.stat();
    if (expectedTail.length > 0) {
      const end = Buffer.alloc(expectedTail.length);
      const { bytesRead } = await file.read(end, 0, end.length, Math.max(0, size - end.length));
      if (bytesRead !== end.length || !end.equals(expectedTail)) {
        throw new UnexpectedFileEndError(`${folder.describe(name)} does not end the way this destination writes it; refusing to append`);
      }
      size -= expectedTail.length;
      await file.truncate(size);
    }
    for (const chunk of addition) {
      await file.write(chunk, 0, chunk.length, size);
      size += chunk.length;
    }
  });
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
export async function rotateFile(folder: Folder, name: string, startedAt: number, gzip: boolean): Promise<string> {
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
export async function finishInterruptedRotation(folder: Folder, name: string, stats: { dev: number; ino: number; nlink: number }, gzip: boolean): Promise<boolean> {
  if (stats.nlink !== 2) return false;
  const { stem, ext } = splitName(name, gzip);
  const rotated = new RegExp(`^${escapeRegExp(stem)}\\.\\d{8}T\\d{9}Z(?:-\\d+)?${escapeRegExp(ext)}$`);
  for (const candidate of await folder.list()) {
    if (!rotated.test(candidate)) continue;
    const other = await fs.lstat(folder.entry(candidate)).catch(() => undefined);
    if (other === undefined || other.isSymbolicLink() || other.dev !== stats.dev || other.ino !== stats.ino) continue;
    await fs.unlink(folder.entry(name));
    await folder.sync();
    return true;
  }
  return false;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
