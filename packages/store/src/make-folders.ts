/** Creating a data folder and its parents without Node's recursive mkdir. */
import { lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

/**
 * Creates `folder` and its missing parents, one level at a time. Not `mkdir(folder, { recursive:
 * true })`: on a parent that exists but refuses new entries with ENOENT (procfs, sysfs: `--data-dir
 * /proc/sluice`) Node's recursive mkdir never returns — it retries in a thread-pool thread for
 * ever — so `sluice serve` / `migrate` would hang silently. Here the refusal is an error naming the
 * folder. (The file destination creates its root the same way, for the same reason.)
 *
 * @example
 * ```ts
 * await makeFolders('/var/lib/sluice/data');
 * ```
 */
export async function makeFolders(folder: string): Promise<void> {
  const missing: string[] = [];
  for (let at = folder; ; at = dirname(at)) {
    try {
      await lstat(at);
      break;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
    }
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const each of missing.reverse()) {
    try {
      await mkdir(each);
    } catch (err) {
      if (codeOf(err) === 'EEXIST') continue;
      throw Object.assign(
        new Error(
          `cannot create the data folder ${each}: ${codeOf(err) ?? (err as Error).message} (its parent ${dirname(each)} does not accept new folders)`,
          { cause: err },
        ),
        {
          code: codeOf(err),
        },
      );
    }
  }
}
