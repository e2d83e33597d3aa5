/**
 * The `file` destination: writes NDJSON, JSON arrays or CSV under a root folder, to paths built
 * from a template, either one file per batch (written atomically, named by the batch id) or
 * appending to a file (in place, with a committed length; with rotation). A repeat of a batch
 * (retry, take-over, replay) leaves the output as it was in both modes; see `atomic-file.ts` and
 * `append-file.ts`. Nothing is written outside the root and no symbolic link inside it is
 * followed; see `confined-root.ts`.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import path from 'node:path';
import {
  ConfigError,
  FatalError,
  PartialBatchError,
  RetryableError,
  defineDestination,
  type Batch,
  type CheckResult,
  type DestinationInstance,
  type PluginContext,
  type RecordFailure,
  type SluiceRecord,
  type WriteOptions,
} from '@sluice/core';
import { fileConfigSchema, type FileConfig } from './config.js';
import {
  removeLeftoverTemp,
  UnexpectedFileEndError,
  walkRoot,
  writeFileAtomic,
} from './atomic-file.js';
import { appendPiece, repairAppendedFile } from './append-file.js';
import { dataNameOf } from './append-state.js';
import {
  confineTo,
  HardLinkRefusedError,
  SymlinkRefusedError,
  type Folder,
} from './confined-root.js';
import { createEncoder, type EncodedPiece } from './formats.js';
import {
  dateInZone,
  parsePathTemplate,
  renderPath,
  resolveInside,
  sanitizeSegment,
  TemplateValueError,
  type PathTemplate,
} from './path-template.js';

const gzip = promisify(gzipCallback);

/**
 * Whether a path template uses `{{date}}`, the date of the write (not a field of the record):
 * a repeat written after midnight goes to another path than the first write did.
 */
function usesWriteDate(template: string): boolean {
  return /\{\{-?\s*date\s*(?:\||-?\}\})/.test(template);
}

interface FileGroup {
  relative: string;
  records: SluiceRecord[];
  indexes: number[];
}

function withBatchId(relative: string, batchId: string, gzipped: boolean): string {
  const base = path.posix.basename(relative);
  let ext = path.posix.extname(base);
  if (gzipped && ext === '.gz') ext = path.posix.extname(base.slice(0, -3)) + ext;
  const stem = relative.slice(0, relative.length - ext.length);
  return `${stem}.${sanitizeSegment(batchId)}${ext}`;
}

/** Serialises the work on one path, so two batches never rebuild the same file at once. */
function createPathLocks() {
  const tails = new Map<string, Promise<void>>();
  return async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

/**
 * One set of path locks for every file destination of the process: several destinations may
 * share a root, and one's open-time repair must never cut a file another is appending to between
 * its data write and its state write.
 */
const processPathLocks = createPathLocks();

/** What the engine is told when writing one file failed. */
function fileError(err: unknown, relative: string, root: string): Error {
  if (err instanceof SymlinkRefusedError) {
    return new FatalError(`refusing to write ${relative}: ${err.message}`, {
      cause: err,
      details: {
        reason: 'symlink',
        path: relative,
        symlink: err.link,
        ...(err.target === undefined ? {} : { target: err.target }),
      },
    });
  }
  if (err instanceof HardLinkRefusedError) {
    return new FatalError(`refusing to write ${relative}: ${err.message}`, {
      cause: err,
      details: { reason: 'hardlink', path: relative, file: err.file, links: err.links },
    });
  }
  if (err instanceof UnexpectedFileEndError) return new FatalError(err.message, { cause: err });
  return new RetryableError(`writing ${relative} under ${root}: ${(err as Error).message}`, {
    cause: err,
  });
}

async function createFileInstance(
  config: FileConfig,
  ctx: PluginContext,
): Promise<DestinationInstance> {
  const parsed = parsePathTemplate(config.path, 'path');
  if ('issues' in parsed) throw new ConfigError(parsed.issues);
  const template: PathTemplate = parsed;
  const root = path.resolve(config.root);
  // The root's real path is fixed now (or at the first write, when the folder does not exist yet).
  const confined = confineTo(root);
  await confined.pin();
  const encode = createEncoder(config.format, config.csv);
  const withLock = <T>(target: string, work: () => Promise<T>): Promise<T> =>
    processPathLocks(`${root}\u0000${target}`, work);
  const logger = ctx.logger.child({ destination: 'file', root });
  const bytesWritten = ctx.metrics.counter({
    name: 'destination_file_bytes_total',
    help: 'Bytes written by the file destination (after compression)',
    labelNames: ['format'],
  });
  let closed = false;

  async function bytesOf(text: string): Promise<Buffer> {
    const raw = Buffer.from(text, 'utf8');
    return config.gzip ? gzip(raw) : raw;
  }

  function groupRecords(batch: Batch, date: string, failures: RecordFailure[]): FileGroup[] {
    const groups = new Map<string, FileGroup>();
    const add = (relative: string, record: SluiceRecord, index: number) => {
      let group = groups.get(relative);
      if (!group) groups.set(relative, (group = { relative, records: [], indexes: [] }));
      group.records.push(record);
      group.indexes.push(index);
    };
    // A batch that mixes routes (fan-out from several routes to this destination) names each
    // record's route in `batch.routes`: the path is rendered per route, so `{{route}}` puts every
    // record in its own route's file (the batch alone would say `default`).
    const contexts = new Map<string | undefined, { batch: Batch; date: string }>();
    const contextOf = (index: number) => {
      const route = batch.routes?.[index] ?? batch.route;
      let context = contexts.get(route);
      if (context === undefined)
        contexts.set(
          route,
          (context = { batch: route === batch.route ? batch : { ...batch, route }, date }),
        );
      return context;
    };
    if (!template.usesRecord) {
      const byRoute = new Map<{ batch: Batch; date: string }, string>();
      batch.records.forEach((record, index) => {
        const context = contextOf(index);
        let relative = byRoute.get(context);
        if (relative === undefined)
          byRoute.set(context, (relative = renderPath(template, context)));
        add(relative, record, index);
      });
    } else {
      batch.records.forEach((record, index) => {
        try {
          const relative = renderPath(template, contextOf(index), record);
          if (resolveInside(root, relative) === undefined) {
            throw new TemplateValueError(
              `path "${relative}" would leave the root folder`,
              template.source,
            );
          }
          add(relative, record, index);
        } catch (err) {
          if (!(err instanceof TemplateValueError)) throw err;
          failures.push({
            index,
            error: new FatalError(err.message, { details: { field: err.field } }),
          });
        }
      });
    }
    if (config.mode === 'batch' && !template.usesBatchId) {
      // The batch id in the name makes a retried batch overwrite its own file instead of adding one.
      return [...groups.values()].map((g) => ({
        ...g,
        relative: withBatchId(g.relative, batch.id, config.gzip),
      }));
    }
    return [...groups.values()];
  }

  /** Runs `work` in the opened folder of `relative` (created when missing, links refused). */
  async function inFolder<T>(
    relative: string,
    work: (folder: Folder, name: string) => Promise<T>,
  ): Promise<T> {
    const dir = path.posix.dirname(relative);
    const folder = await confined.openFolder(dir === '.' ? '' : dir);
    try {
      return await work(folder, path.posix.basename(relative));
    } catch (err) {
      throw folder.explain(err);
    } finally {
      await folder.close();
    }
  }

  async function writeWholeFile(
    folder: Folder,
    name: string,
    piece: EncodedPiece,
  ): Promise<number> {
    const chunks = [await bytesOf(piece.head + piece.body)];
    if (piece.tail !== '') chunks.push(await bytesOf(piece.tail));
    await writeFileAtomic(folder, name, chunks);
    return chunks.reduce((n, c) => n + c.length, 0);
  }

  /** What every file of this format ends with (JSON's `]`), as written: an append overwrites it. */
  const ending: Promise<Uint8Array> =
    encode([]).tail === '' ? Promise.resolve(Buffer.alloc(0)) : bytesOf(encode([]).tail);

  /**
   * The key of one file's share of a batch: the source position of its first record (the
   * router's record key) and its record count — the same in every attempt, take-over and
   * replay, and for the partial retry that re-sends just this file's records under another
   * batch id. Hashing the bytes is not needed (issue 19: sha256 of appended bytes cost 6 %).
   */
  function pieceKey(batch: Batch, indexes: readonly number[]): string {
    const first = indexes[0]!;
    const key = batch.recordKeys?.[first];
    return key !== undefined
      ? `${key}+${indexes.length}`
      : `${batch.id}@${first}+${indexes.length}`;
  }

  async function appendToFile(
    folder: Folder,
    name: string,
    piece: EncodedPiece,
    key: string,
    now: number,
  ): Promise<number> {
    const target = folder.describe(name);
    return withLock(target, async () => {
      const outcome = await appendPiece(
        folder,
        name,
        {
          key,
          whole: async () =>
            piece.tail === ''
              ? [await bytesOf(piece.head + piece.body)]
              : [await bytesOf(piece.head + piece.body), await ending],
          addition: () => bytesOf(piece.separator + piece.body),
        },
        { ending: await ending, gzip: config.gzip, now, rotate: config.rotate, logger },
      );
      return outcome.written;
    });
  }

  return {
    /**
     * Removes temporary files that a killed process left beside the output (see atomic-file.ts)
     * and, in append mode, cuts every appended file back to its committed length (see
     * append-file.ts): a file no later batch appends to is repaired too.
     */
    async open(): Promise<void> {
      // A root that does not exist yet holds nothing; opening does not create it (writes do).
      await confined.pin();
      if (!(await fs.stat(root).catch(() => undefined))?.isDirectory()) return;
      const removed: string[] = [];
      const repaired: { file: string; removed: number }[] = [];
      const tail = config.mode === 'append' ? await ending : undefined;
      await walkRoot(
        (relative) => confined.openFolder(relative),
        async (folder, name, stats) => {
          const gone = await removeLeftoverTemp(folder, name, stats);
          if (gone !== undefined) removed.push(gone);
          const data = tail === undefined ? undefined : dataNameOf(name);
          if (data === undefined || !stats.isFile()) return;
          try {
            const cut = await withLock(folder.describe(data), () =>
              repairAppendedFile(folder, data, tail!),
            );
            if (cut !== undefined) repaired.push({ file: folder.describe(data), removed: cut });
          } catch (err) {
            // Left to the next append to that file, which refuses it with the reason (a link, a file cut short).
            logger.warn(
              {
                file: folder.describe(data),
                err: { message: (folder.explain(err) as Error).message },
              },
              'could not check an appended file',
            );
          }
        },
      );
      if (removed.length > 0)
        ctx.logger.info({ root, removed }, 'removed temporary files of interrupted atomic writes');
      if (repaired.length > 0)
        ctx.logger.warn(
          { root, repaired },
          'cut uncommitted bytes that a crash left at the end of appended files',
        );
    },

    async write(batch: Batch, options: WriteOptions): Promise<void> {
      if (closed) throw new FatalError('the file destination is closed');
      if (options.signal.aborted)
        throw new RetryableError('write cancelled before it started', {
          cause: options.signal.reason,
        });
      const now = ctx.clock.now();
      const failures: RecordFailure[] = [];
      const groups = groupRecords(batch, dateInZone(now, config.timeZone), failures);
      // Failures of a whole file (I/O, a file this destination cannot append to), as opposed to one record's path.
      let fileFailures = 0;
      for (const group of groups) {
        const target = resolveInside(root, group.relative);
        if (target === undefined) {
          // Only a template built entirely from built-ins can reach this, and those are sanitised.
          for (const index of group.indexes)
            failures.push({
              index,
              error: new FatalError(`path "${group.relative}" would leave the root folder`),
            });
          continue;
        }
        // The path below the root, with `/` (the lock key and what messages name).
        const relative = path.relative(root, target).split(path.sep).join('/');
        try {
          const piece = encode(group.records);
          const written = await inFolder(relative, (folder, name) =>
            config.mode === 'batch'
              ? writeWholeFile(folder, name, piece)
              : appendToFile(folder, name, piece, pieceKey(batch, group.indexes), now),
          );
          bytesWritten.inc({ format: config.format }, written);
        } catch (err) {
          const error = fileError(err, relative, root);
          if (error instanceof FatalError)
            logger.warn({ batch: batch.id, file: relative, reason: error.message }, 'file refused');
          fileFailures += group.indexes.length;
          for (const index of group.indexes) failures.push({ index, error });
        }
      }
      if (failures.length === 0) return;
      // One kind of failure for every record: the whole batch fails with it (retried, or dead-lettered when fatal).
      const fatal = failures.map((f) => f.error instanceof FatalError);
      if (fileFailures === batch.records.length && fatal.every((f) => f === fatal[0]))
        throw failures[0]!.error;
      logger.warn({ batch: batch.id, failed: failures.length }, 'records not written');
      throw new PartialBatchError(failures);
    },

    async check(): Promise<CheckResult> {
      let real = root;
      try {
        real = await confined.realRoot();
        const probe = `.sluice-check-${process.pid}-${randomBytes(4).toString('hex')}`;
        await inFolder(probe, async (folder, name) => {
          await writeFileAtomic(folder, name, [Buffer.from('ok')]);
          await fs.unlink(folder.entry(name));
        });
        return { ok: true, message: `${real} is writable` };
      } catch (err) {
        return { ok: false, message: `${real} is not writable: ${(err as Error).message}` };
      }
    },

    async close(): Promise<void> {
      closed = true;
    },
  };
}

/**
 * The `file` destination kind.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * import { fileDestination } from '@sluice/destinations-file';
 *
 * const config = parseConfig(fileDestination.configSchema, {
 *   root: './exports',
 *   path: 'sessions/{{date}}/{{channel}}.ndjson',
 * });
 * const destination = await fileDestination.create(config, createPluginContext());
 * ```
 */
export const fileDestination = defineDestination({
  kind: 'file',
  version: '0.1.0',
  description: 'Writes records to NDJSON, JSON or CSV files (optionally gzip) with atomic writes.',
  configSchema: fileConfigSchema,
  capabilities: (config) => ({
    maxBatch: config.maxBatch,
    // One write (a file, or an append and its fsync) per batch: the largest batch it accepts.
    preferredBatch: { maxRecords: config.maxBatch },
    // Appends to one file are serialised anyway; whole files per batch can be written in parallel.
    maxInFlight: config.mode === 'append' ? 1 : 4,
    // Both modes key what they write by the batch (batch mode: the file name; append mode: the
    // pieces' keys in the state file), so a retry or a take-over's repeat leaves the output as it
    // was — unless the path has the write date in it: a take-over (or a retry) after midnight
    // writes to another day's path, so only the retry moments later is absorbed there.
    idempotent: true,
    ...(usesWriteDate(config.path) ? {} : { idempotency: 'batch' as const }),
  }),
  create: (config, ctx) => createFileInstance(config, ctx),
});
