/**
 * A small hidden state file beside each appended file (`.sessions.ndjson.sluice.json`): when the
 * file was started (for age rotation, surviving restarts) and digests of the last appended
 * pieces, so a retried batch that was already appended is not appended twice.
 *
 * It is written after the data file is renamed into place. A crash between the two leaves the
 * data appended but not remembered, so a retry of that batch appends it again: appends are
 * at-least-once, and the destination declares itself non-idempotent in append mode.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

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
 * The state file of `target`.
 *
 * @example
 * ```ts
 * statePath('/data/out/a.ndjson'); // "/data/out/.a.ndjson.sluice.json"
 * ```
 */
export function statePath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.sluice.json`);
}

/**
 * Reads the state of `target`, or `undefined` when there is none (or it is unreadable, which
 * only costs the dedupe of one retry).
 *
 * @example
 * ```ts
 * const state = await readAppendState('/data/out/a.ndjson');
 * ```
 */
export async function readAppendState(target: string): Promise<AppendState | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(statePath(target), 'utf8')) as Partial<AppendState>;
    if (typeof parsed.createdAt !== 'number' || !Array.isArray(parsed.digests)) return undefined;
    return { createdAt: parsed.createdAt, digests: parsed.digests.filter((d) => typeof d === 'string') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * Records that a piece was appended (atomically, like the data).
 *
 * @example
 * ```ts
 * await rememberAppend('/data/out/a.ndjson', state, digest);
 * ```
 */
export async function rememberAppend(target: string, createdAt: number, previous: readonly string[], digest: string): Promise<void> {
  const state: AppendState = { createdAt, digests: [...previous, digest].slice(-REMEMBERED) };
  await writeFileAtomic(statePath(target), [Buffer.from(JSON.stringify(state))]);
}

/** Forgets the state of a file that was rotated away. */
export async function forgetAppendState(target: string): Promise<void> {
  await fs.rm(statePath(target), { force: true });
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
