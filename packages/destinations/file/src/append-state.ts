/**
 * A small hidden state file beside each appended file (`.sessions.ndjson.sluice.json`): which
 * file it describes (device and inode), how many of its bytes are committed, when it was started
 * (for age rotation, surviving restarts) and the keys of the most recent appended pieces.
 *
 * The committed length is what makes appends crash-safe without copying the file: a piece is
 * written at the end of the file and flushed, and only then is the state replaced (atomically)
 * with the new length. Bytes beyond the committed length were never acknowledged, so the next
 * append (or the destination's `open`) truncates them away and the retry or take-over writes
 * them again, once. The keys make a repeat of an acknowledged piece a no-op.
 *
 * Like the data, it is read and written only inside its opened folder and never through a
 * symbolic link: a link at its name is refused (`SymlinkRefusedError`), and so is a state file
 * with other hard links (`HardLinkRefusedError`).
 */
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';
import { HardLinkRefusedError, type Folder } from './confined-root.js';

/** What is remembered about one appended file. */
export interface AppendState {
  /** When the current file was started (ms since the epoch). */
  createdAt: number;
  /** `<dev>:<ino>` of the file the length belongs to; absent in state files of older versions. */
  file?: string;
  /** Bytes of the file that are committed (acknowledged); absent in state files of older versions. */
  length?: number;
  /** Keys of the most recent appended pieces, oldest first (kept across rotations). */
  keys: string[];
}

/** How many piece keys are remembered per file name. */
export const REMEMBERED_PIECES = 256;

/**
 * The name of the state file of `name` (in the same folder).
 *
 * @example
 * ```ts
 * stateName('a.ndjson'); // ".a.ndjson.sluice.json"
 * ```
 */
export function stateName(name: string): string {
  return `.${name}.sluice.json`;
}

/**
 * The data file a state file name belongs to, or `undefined` when `name` is not a state file name.
 *
 * @example
 * ```ts
 * dataNameOf('.a.ndjson.sluice.json'); // "a.ndjson"
 * ```
 */
export function dataNameOf(name: string): string | undefined {
  const match = /^\.(.+)\.sluice\.json$/.exec(name);
  return match?.[1];
}

/**
 * The identity a state records for the file it describes: a new file (a rotation, a file
 * replaced by hand) has another inode, so an old state's length is never applied to it.
 *
 * @example
 * ```ts
 * fileIdentity(await handle.stat()); // "2049:1837261"
 * ```
 */
export function fileIdentity(stats: Pick<Stats, 'dev' | 'ino'>): string {
  return `${stats.dev}:${stats.ino}`;
}

/**
 * Reads the state of `name`, or `undefined` when there is none (or it is unreadable, which only
 * costs the dedupe and the repair of one file: it is then taken as it is).
 *
 * @example
 * ```ts
 * const state = await readAppendState(folder, 'a.ndjson');
 * ```
 */
export async function readAppendState(folder: Folder, name: string): Promise<AppendState | undefined> {
  let text: string;
  try {
    const handle = await folder.open(stateName(name), constants.O_RDONLY);
    try {
      const { nlink } = await handle.stat();
      if (nlink > 1) throw new HardLinkRefusedError(folder.root, folder.describe(stateName(name)), nlink);
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<AppendState> & { digests?: unknown };
    if (typeof parsed.createdAt !== 'number') return undefined;
    const keys = Array.isArray(parsed.keys) ? parsed.keys : [];
    const state: AppendState = { createdAt: parsed.createdAt, keys: keys.filter((k): k is string => typeof k === 'string') };
    if (typeof parsed.file === 'string' && Number.isSafeInteger(parsed.length) && parsed.length! >= 0) {
      state.file = parsed.file;
      state.length = parsed.length!;
    }
    return state;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Replaces the state of `name` (atomically, flushed to disk before it returns), keeping the
 * last {@link REMEMBERED_PIECES} keys.
 *
 * @example
 * ```ts
 * await writeAppendState(folder, 'a.ndjson', { createdAt, file: fileIdentity(stats), length: 120, keys });
 * ```
 */
export async function writeAppendState(folder: Folder, name: string, state: AppendState): Promise<void> {
  const kept: AppendState = { ...state, keys: state.keys.slice(-REMEMBERED_PIECES) };
  await writeFileAtomic(folder, stateName(name), [Buffer.from(JSON.stringify(kept))]);
}
