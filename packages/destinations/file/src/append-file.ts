/**
 * Appending without copying, crash-safe and effectively once.
 *
 * A piece is written at the end of the file in place and flushed (fdatasync); only then is the
 * file's state (`append-state.ts`) replaced, crash-safely, with the new committed length and the
 * piece's key. So after a crash at any point:
 * - the file may be longer than its committed length: those bytes were never acknowledged, the
 *   retry or take-over sends them again, and the next append (or the destination's `open`) cuts
 *   the file back to the committed length first, so they land exactly once;
 * - a piece whose key is in the state was acknowledged, and a repeat of it is skipped.
 *
 * A new file is created empty and its state written (length 0) before any data goes in, so a
 * crash while it is first filled is repaired the same way. A state that names another file
 * (device and inode: a rotation, a file replaced by hand) is not applied to the file found: that
 * file is taken as it is. The keys are kept across rotations, so a repeat is recognised after one.
 *
 * Formats with an ending (a JSON array's `]`) overwrite it with `separator + body + ending`;
 * the repair rewrites the ending of the committed content. Gzip pieces are whole gzip members, so
 * a cut at a committed length is always between members.
 *
 * Only this process appends to a file (two processes must not share an output folder): bytes
 * beyond the committed length are taken to be a torn write of this destination and removed.
 */
import type { promises as fs } from 'node:fs';
import type { Logger } from '@sluice/core';
import {
  createForAppend,
  finishInterruptedRotation,
  openForAppend,
  rotateFile,
  UnexpectedFileEndError,
} from './atomic-file.js';
import {
  fileIdentity,
  readAppendState,
  writeAppendState,
  type AppendState,
} from './append-state.js';
import { HardLinkRefusedError, type Folder } from './confined-root.js';

/** One file's share of a batch, ready to append. */
export interface AppendPiece {
  /**
   * What identifies the piece in every attempt: the destination derives it from the source
   * position of the piece's first record and its record count, never from the bytes.
   */
  key: string;
  /** The bytes of a new file holding only this piece (head + body, then the ending). */
  whole(): Promise<Uint8Array[]>;
  /** The bytes that extend an existing file, written where its ending was (separator + body). */
  addition(): Promise<Uint8Array>;
}

/** How a file is appended to. */
export interface AppendOptions {
  /** The bytes every file of this format ends with (JSON `\n]\n`, maybe gzipped); empty for NDJSON and CSV. */
  ending: Uint8Array;
  gzip: boolean;
  now: number;
  rotate?: { maxBytes?: number | undefined; maxAgeMs?: number | undefined } | undefined;
  logger: Logger;
}

/** What {@link appendPiece} did. */
export interface AppendOutcome {
  /** Bytes written to the file (0 for a repeat). */
  written: number;
  repeat: boolean;
  /** Uncommitted bytes cut from the end of the file first. */
  repaired: number;
  /** The name the previous file was rotated to, if it was. */
  rotatedTo?: string;
}

async function endsWith(
  handle: fs.FileHandle,
  length: number,
  ending: Uint8Array,
): Promise<boolean> {
  if (ending.length === 0) return true;
  if (length < ending.length) return false;
  const found = Buffer.alloc(ending.length);
  const { bytesRead } = await handle.read(found, 0, found.length, length - ending.length);
  return bytesRead === ending.length && found.equals(ending);
}

async function writeAt(
  handle: fs.FileHandle,
  chunks: readonly Uint8Array[],
  position: number,
): Promise<number> {
  let at = position;
  for (const chunk of chunks) {
    for (let done = 0; done < chunk.length;) {
      const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, at);
      done += bytesWritten;
      at += bytesWritten;
    }
  }
  return at;
}

/**
 * Cuts an owned file back to its committed `length` (rewriting the `ending` of the committed
 * content, which an interrupted append overwrote) and flushes it. Returns the bytes removed.
 */
async function cutBack(
  folder: Folder,
  name: string,
  handle: fs.FileHandle,
  size: number,
  length: number,
  ending: Uint8Array,
): Promise<number> {
  if (size < length - ending.length) {
    throw new UnexpectedFileEndError(
      `${folder.describe(name)} is shorter (${size} bytes) than the ${length} bytes this destination committed to it; refusing to append`,
    );
  }
  // An empty file has no ending yet: its first piece brings it (and the CSV header).
  if (ending.length > 0 && length > 0) await writeAt(handle, [ending], length - ending.length);
  await handle.truncate(length);
  await handle.datasync();
  return Math.max(0, size - length);
}

/** Whether the file `handle` (owned by `state`) needs cutting back, and does it. */
async function repairOwned(
  folder: Folder,
  name: string,
  handle: fs.FileHandle,
  size: number,
  length: number,
  ending: Uint8Array,
): Promise<number | undefined> {
  if (size === length && (length === 0 || (await endsWith(handle, length, ending))))
    return undefined;
  return cutBack(folder, name, handle, size, length, ending);
}

function rotationReason(
  options: AppendOptions,
  size: number,
  adding: number,
  createdAt: number,
): 'size' | 'age' | undefined {
  const rotate = options.rotate;
  if (rotate === undefined) return undefined;
  if (rotate.maxBytes !== undefined && size + adding > rotate.maxBytes) return 'size';
  if (rotate.maxAgeMs !== undefined && options.now - createdAt >= rotate.maxAgeMs) return 'age';
  return undefined;
}

/**
 * Appends `piece` to `name` in `folder` (creating the file when missing, rotating it when due),
 * once: a repeat of a piece already committed is skipped, and uncommitted bytes a crash left at
 * the end of the file are cut away first. Throws `SymlinkRefusedError` for a link at the file's
 * or its state's name, `HardLinkRefusedError` for a file (or state) with other names, and
 * {@link UnexpectedFileEndError} for a file that does not end the way this destination wrote it.
 *
 * @example
 * ```ts
 * await appendPiece(folder, 'a.ndjson', { key, whole: async () => [bytes], addition: async () => bytes }, options);
 * ```
 */
export async function appendPiece(
  folder: Folder,
  name: string,
  piece: AppendPiece,
  options: AppendOptions,
): Promise<AppendOutcome> {
  const target = folder.describe(name);
  let current = await folder.lstat(name);
  if (
    current !== undefined &&
    current.nlink > 1 &&
    (await finishInterruptedRotation(folder, name, current, options.gzip))
  ) {
    // A crash between the link and the unlink of a rotation: the data is kept under the rotated name.
    options.logger.warn({ file: target }, 'finished a rotation a crash had interrupted');
    current = undefined;
  }
  const state = await readAppendState(folder, name);
  const keys = state?.keys ?? [];
  if (keys.includes(piece.key)) {
    options.logger.debug(
      { piece: piece.key, file: target },
      'piece already appended; skipping the repeat',
    );
    return { written: 0, repeat: true, repaired: 0 };
  }
  const outcome: AppendOutcome = { written: 0, repeat: false, repaired: 0 };
  if (current !== undefined) {
    const owned = state?.length !== undefined && state.file === fileIdentity(current);
    // A state of an older version (no identity) still knows when its file was started.
    const createdAt =
      owned || (state !== undefined && state.file === undefined)
        ? state!.createdAt
        : current.mtimeMs;
    const committed = owned ? state!.length! : current.size;
    const addition = await piece.addition();
    const reason = rotationReason(options, committed, addition.length, createdAt);
    if (current.nlink > 1 && !(reason !== undefined && !owned)) {
      throw new HardLinkRefusedError(folder.root, target, current.nlink);
    }
    if (current.nlink > 1) {
      // A file with another name that this destination did not write: moved aside unread, never extended.
      outcome.rotatedTo = await rotateFile(folder, name, createdAt, options.gzip);
      options.logger.info(
        { file: target, rotated: folder.describe(outcome.rotatedTo), reason },
        'rotated file',
      );
    } else {
      const { handle, stats } = await openForAppend(folder, name);
      try {
        if (fileIdentity(stats) !== fileIdentity(current))
          throw new Error(`${target} was replaced while it was being appended to`);
        if (owned) {
          const cut = await repairOwned(
            folder,
            name,
            handle,
            stats.size,
            committed,
            options.ending,
          );
          if (cut !== undefined) {
            outcome.repaired = cut;
            options.logger.warn(
              { file: target, committed, removed: cut },
              'cut uncommitted bytes a crash left at the end of the file',
            );
          }
        } else if (committed > 0 && !(await endsWith(handle, committed, options.ending))) {
          throw new UnexpectedFileEndError(
            `${target} does not end the way this destination writes it; refusing to append`,
          );
        }
        if (reason === undefined) {
          // An empty file (a crash right after it was created) gets what a new file gets.
          const start = committed === 0 ? 0 : committed - options.ending.length;
          const chunks =
            committed === 0
              ? await piece.whole()
              : options.ending.length > 0
                ? [addition, options.ending]
                : [addition];
          const end = await writeAt(handle, chunks, start);
          await handle.datasync();
          await writeAppendState(folder, name, {
            createdAt,
            file: fileIdentity(stats),
            length: end,
            keys: [...keys, piece.key],
            seq: (state?.seq ?? 0) + 1,
          });
          outcome.written = end - start;
          return outcome;
        }
      } finally {
        await handle.close();
      }
      // Named after the time the file was started, so rotated files sort in order.
      outcome.rotatedTo = await rotateFile(folder, name, createdAt, options.gzip);
      options.logger.info(
        { file: target, rotated: folder.describe(outcome.rotatedTo), reason },
        'rotated file',
      );
    }
  }
  outcome.written = await startFile(folder, name, piece, keys, state?.seq ?? 0, options.now);
  return outcome;
}

/** Creates `name` holding only `piece`: empty and recorded (length 0) first, then filled and committed. */
async function startFile(
  folder: Folder,
  name: string,
  piece: AppendPiece,
  keys: readonly string[],
  seq: number,
  now: number,
): Promise<number> {
  const { handle, stats } = await createForAppend(folder, name);
  try {
    const file = fileIdentity(stats);
    const state: AppendState = { createdAt: now, file, length: 0, keys: [...keys], seq: seq + 1 };
    await writeAppendState(folder, name, state);
    const end = await writeAt(handle, await piece.whole(), 0);
    await handle.datasync();
    await folder.sync();
    await writeAppendState(folder, name, {
      ...state,
      length: end,
      keys: [...keys, piece.key],
      seq: seq + 2,
    });
    return end;
  } finally {
    await handle.close();
  }
}

/**
 * Cuts an appended file back to its committed length when a crash left uncommitted bytes at its
 * end (what the destination's `open` does for every state file under the root, so a file no
 * later batch appends to — yesterday's `{{date}}` — is repaired too). Returns the bytes removed,
 * or `undefined` when there was nothing to repair (no state, a state of another file, a file
 * with other names: those are left to the next append, which refuses or takes them as they are).
 *
 * @example
 * ```ts
 * const removed = await repairAppendedFile(folder, 'a.ndjson', Buffer.alloc(0));
 * ```
 */
export async function repairAppendedFile(
  folder: Folder,
  name: string,
  ending: Uint8Array,
): Promise<number | undefined> {
  const current = await folder.lstat(name);
  if (current === undefined || !current.isFile() || current.nlink > 1) return undefined;
  const state = await readAppendState(folder, name);
  if (state?.length === undefined || state.file !== fileIdentity(current)) return undefined;
  const { handle, stats } = await openForAppend(folder, name);
  try {
    if (fileIdentity(stats) !== state.file) return undefined;
    return await repairOwned(folder, name, handle, stats.size, state.length, ending);
  } finally {
    await handle.close();
  }
}
