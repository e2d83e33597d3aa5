/**
 * A small hidden state file beside each appended file (`.sessions.ndjson.sluice.json`): when the
 * file was started (for age rotation, surviving restarts) and digests of the last appended
 * pieces, so a retried batch that was already appended is not appended twice.
 *
 * It is written after the data file is renamed into place. A crash between the two leaves the
 * data appended but not remembered, so a retry of that batch appends it again: appends are
 * at-least-once, and the destination declares itself non-idempotent in append mode.
 *
 * Like the data, it is read and written only inside its opened folder and never through a
 * symbolic link: a link at its name is refused (`SymlinkRefusedError`), and so is a state file
 * with other hard links (`HardLinkRefusedError`).
 */
import { createHash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';
import { HardLinkRefusedError, type Folder } from './confined-root.js';

/** What is remembered about one appended file. */
export interface AppendState {
  /** When the current file was started (ms since the epoch). */
  createdAt: number;
  /** Digests of the most recent appended pieces, oldest first. */
  digests: string[];
}

/** How many piece digests are remembered per file. */
const REMEMBERED = 256;

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
 * Reads the state of `name`, or `undefined` when there is none (or it is unreadable, which
 * only costs the dedupe of one retry).
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
    const parsed = JSON.parse(text) as Partial<AppendState>;
    if (typeof parsed.createdAt !== 'number' || !Array.isArray(parsed.digests)) return undefined;
    return { createdAt: parsed.createdAt, digests: parsed.digests.filter((d) => typeof d === 'string') };
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Records that a piece was appended (atomically, like the data).
 *
 * @example
 * ```ts
 * await rememberAppend(folder, 'a.ndjson', state.createdAt, state.digests, digest);
 * ```
 */
export async function rememberAppend(folder: Folder, name: string, createdAt: number, previous: readonly string[], digest: string): Promise<void> {
  const state: AppendState = { createdAt, digests: [...previous, digest].slice(-REMEMBERED) };
  await writeFileAtomic(folder, stateName(name), [Buffer.from(JSON.stringify(state))]);
}

/** Forgets the state of a file that was rotated away (`unlink` removes a link itself, never its target). */
export async function forgetAppendState(folder: Folder, name: string): Promise<void> {
  await fs.unlink(folder.entry(stateName(name))).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * The identity of one piece: the batch and exactly the bytes it adds.
 *
 * @example
 * ```ts
 * pieceDigest(batch.id, body);
 * ```
 */
export function pieceDigest(batchId: string, body: string): string {
  return createHash('sha256').update(batchId).update('\0').update(body).digest('base64url');
}
