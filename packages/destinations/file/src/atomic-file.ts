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
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * The file's current ending is not what this destination wrote (edited by hand, written by
 * another tool), so appending would corrupt it.
 */
export class UnexpectedFileEndError extends Error {
  override readonly name = 'UnexpectedFileEndError';
}

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await fs.open(folder, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function replaceWith(temp: string, target: string, fill: (handle: fs.FileHandle) => Promise<void>): Promise<void> {
  try {
    const handle = await fs.open(temp, 'r+');
    try {
      await fill(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncFolder(path.dirname(target));
}

/**
 * Writes `data` as the complete new content of `target`, atomically.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/data/out/a.ndjson', [Buffer.from('{"a":1}\n')]);
 * ```
 */
export async function writeFileAtomic(target: string, data: readonly Uint8Array[]): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  await fs.writeFile(temp, '', { flag: 'wx' });
  await replaceWith(temp, target, async (handle) => {
    for (const chunk of data) await handle.write(chunk);
  });
}

/**
 * Appends `addition` to `target` atomically, after removing `expectedTail` from its end (the
 * closing `]` of a JSON array). Throws {@link UnexpectedFileEndError} when the file does not end
 * with `expectedTail`.
 *
 * @example
 * ```ts
 * await appendFileAtomic('/data/out/a.json', Buffer.from('\n]\n'), [Buffer.from(',\n{"a":2}\n]\n')]);
 * ```
 */
export async function appendFileAtomic(
  target: string,
  expectedTail: Uint8Array,
  addition: readonly Uint8Array[],
): Promise<void> {
  const temp = tempPathFor(target);
  await fs.copyFile(target, temp, constants.COPYFILE_EXCL);
  await replaceWith(temp, target, async (handle) => {
    let { size } = await handle.stat();
    if (expectedTail.length > 0) {
      const end = Buffer.alloc(expectedTail.length);
      const { bytesRead } = await handle.read(end, 0, end.length, Math.max(0, size - end.length));
      if (bytesRead !== end.length || !end.equals(expectedTail)) {
        throw new UnexpectedFileEndError(`${path.basename(target)} does not end the way this destination writes it; refusing to append`);
      }
      size -= expectedTail.length;
      await handle.truncate(size);
    }
    for (const chunk of addition) {
      await handle.write(chunk, 0, chunk.length, size);
      size += chunk.length;
    }
  });
}

/**
 * Moves a full file aside under a name stamped with `startedAt` (the time the file was begun,
 * `sessions.20261124T080000000Z.ndjson`), so the next append starts a new file. Returns the new path.
 *
 * @example
 * ```ts
 * await rotateFile('/data/out/sessions.ndjson', Date.now());
 * ```
 */
export async function rotateFile(target: string, startedAt: number, gzip: boolean): Promise<string> {
  const folder = path.dirname(target);
  const base = path.basename(target);
  let ext = path.extname(base);
  if (gzip && ext === '.gz') ext = path.extname(base.slice(0, -3)) + ext;
  const stem = base.slice(0, base.length - ext.length);
  const stamp = new Date(startedAt).toISOString().replace(/[-:.]/g, '');
  for (let n = 0; ; n++) {
    const candidate = path.join(folder, `${stem}.${stamp}${n === 0 ? '' : `-${n}`}${ext}`);
    try {
      // link + unlink instead of rename: link fails when the name is taken, so no file is overwritten.
      await fs.link(target, candidate);
      await fs.unlink(target);
      await syncFolder(folder);
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
