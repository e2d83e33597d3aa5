/**
 * The `file` destination: writes NDJSON, JSON arrays or CSV under a root folder, to paths built
 * from a template, either one file per batch (idempotent) or appending to a file (with
 * rotation). Every write is atomic; see `atomic-file.ts` for how and what it costs. Nothing is
 * written outside the root and no symbolic link inside it is followed; see `confined-root.ts`.
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
import { appendFileAtomic, finishInterruptedRotation, removeLeftoverTempFiles, rotateFile, UnexpectedFileEndError, writeFileAtomic } from './atomic-file.js';
import { forgetAppendState, pieceDigest, readAppendState, rememberAppend } from './append-state.js';
import { confineTo, HardLinkRefusedError, SymlinkRefusedError, type Folder } from './confined-root.js';
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

/** What the engine is told when writing one file failed. */
function fileError(err: unknown, relative: string, root: string): Error {
  if (err instanceof SymlinkRefusedError) {
    return new FatalError(`refusing to write ${relative}: ${err.message}`, {
      cause: err,
      details: { reason: 'symlink', path: relative, symlink: err.link, ...(err.target === undefined ? {} : { target: err.target }) },
    });
  }
  if (err instanceof HardLinkRefusedError) {
    return new FatalError(`refusing to write ${relative}: ${err.message}`, {
      cause: err,
      details: { reason: 'hardlink', path: relative, file: err.file, links: err.links },
    });
  }
  if (err instanceof UnexpectedFileEndError) return new FatalError(err.message, { cause: err });
  return new RetryableError(`writing ${relative} under ${root}: ${(err as Error).message}`, { cause: err });
}

async function createFileInstance(config: FileConfig, ctx: PluginContext): Promise<DestinationInstance> {
  const parsed = parsePathTemplate(config.path, 'path');
  if ('issues' in parsed) throw new ConfigError(parsed.issues);
  const template: PathTemplate = parsed;
  const root = path.resolve(config.root);
  // The root's real path is fixed now (or at the first write, when the folder does not exist yet).
  const confined = confineTo(root);
  await confined.pin();
  const encode = createEncoder(config.format, config.csv);
  const withLock = createPathLocks();
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
    const context = { batch, date };
    const groups = new Map<string, FileGroup>();
    const add = (relative: string, record: SluiceRecord, index: number) => {
      let group = groups.get(relative);
      if (!group) groups.set(relative, (group = { relative, records: [], indexes: [] }));
      group.records.push(record);
      group.indexes.push(index);
    };
    if (!template.usesRecord) {
      const relative = renderPath(template, context);
      batch.records.forEach((record, index) => add(relative, record, index));
    } else {
      batch.records.forEach((record, index) => {
        try {
          const relative = renderPath(template, context, record);
          if (resolveInside(root, relative) === undefined) {
            throw new TemplateValueError(`path "${relative}" would leave the root folder`, template.source);
          }
          add(relative, record, index);
        } catch (err) {
          if (!(err instanceof TemplateValueError)) throw err;
          failures.push({ index, error: new FatalError(err.message, { details: { field: err.field } }) });
        }
      });
    }
    if (config.mode === 'batch' && !template.usesBatchId) {
      // The batch id in the name makes a retried batch overwrite its own file instead of adding one.
      return [...groups.values()].map((g) => ({ ...g, relative: withBatchId(g.relative, batch.id, config.gzip) }));
    }
    return [...groups.values()];
  }

  /** Runs `work` in the opened folder of `relative` (created when missing, links refused). */
  async function inFolder<T>(relative: string, work: (folder: Folder, name: string) => Promise<T>): Promise<T> {
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

  async function writeWholeFile(folder: Folder, name: string, piece: EncodedPiece): Promise<number> {
    const chunks = [await bytesOf(piece.head + piece.body)];
    if (piece.tail !== '') chunks.push(await bytesOf(piece.tail));
    await writeFileAtomic(folder, name, chunks);
    return chunks.reduce((n, c) => n + c.length, 0);
  }

  async function appendToFile(folder: Folder, name: string, piece: EncodedPiece, batch: Batch, now: number): Promise<number> {
    const target = folder.describe(name);
    return withLock(target, async () => {
      let state = await readAppendState(folder, name);
      let current = await folder.lstat(name);
      if (current !== undefined && current.nlink > 1 && (await finishInterruptedRotation(folder, name, current, config.gzip))) {
        // A crash between the link and the unlink of a rotation: the data is kept under the rotated name.
        logger.warn({ file: target }, 'finished a rotation a crash had interrupted');
        await forgetAppendState(folder, name);
        state = undefined;
        current = undefined;
      }
      let size = current === undefined ? -1 : current.size;
      const digest = pieceDigest(batch.id, piece.body);
      if (size >= 0 && state?.digests.includes(digest)) {
        logger.debug({ batch: batch.id, file: target }, 'batch already appended; skipping the retry');
        return 0;
      }
      const addition = await bytesOf(piece.separator + piece.body);
      const tail = piece.tail === '' ? Buffer.alloc(0) : await bytesOf(piece.tail);
      const rotate = config.rotate;
      if (size >= 0 && rotate !== undefined) {
        const createdAt = state?.createdAt ?? current!.mtimeMs;
        const tooBig = rotate.maxBytes !== undefined && size + addition.length > rotate.maxBytes;
        const tooOld = rotate.maxAgeMs !== undefined && now - createdAt >= rotate.maxAgeMs;
        if (tooBig || tooOld) {
          // Named after the time the file was started, so rotated files sort in order.
          const rotated = folder.describe(await rotateFile(folder, name, createdAt, config.gzip));
          await forgetAppendState(folder, name);
          logger.info({ file: target, rotated, reason: tooBig ? 'size' : 'age' }, 'rotated file');
          state = undefined;
          size = -1;
        }
      }
      let written: number;
      if (size < 0) {
        written = await writeWholeFile(folder, name, piece);
      } else {
        await appendFileAtomic(folder, name, tail, tail.length > 0 ? [addition, tail] : [addition]);
        written = addition.length + tail.length;
      }
      await rememberAppend(folder, name, size < 0 ? now : (state?.createdAt ?? now), size < 0 ? [] : (state?.digests ?? []), digest);
      return written;
    });
  }

  return {
    /** Removes temporary files that a killed process left beside the output (see atomic-file.ts). */
    async open(): Promise<void> {
      // A root that does not exist yet holds nothing; opening does not create it (writes do).
      await confined.pin();
      if (!(await fs.stat(root).catch(() => undefined))?.isDirectory()) return;
      const removed = await removeLeftoverTempFiles((relative) => confined.openFolder(relative));
      if (removed.length > 0) ctx.logger.info({ root, removed }, 'removed temporary files of interrupted atomic writes');
    },

    async write(batch: Batch, options: WriteOptions): Promise<void> {
      if (closed) throw new FatalError('the file destination is closed');
      if (options.signal.aborted) throw new RetryableError('write cancelled before it started', { cause: options.signal.reason });
      const now = ctx.clock.now();
      const failures: RecordFailure[] = [];
      const groups = groupRecords(batch, dateInZone(now, config.timeZone), failures);
      // Failures of a whole file (I/O, a file this destination cannot append to), as opposed to one record's path.
      let fileFailures = 0;
      for (const group of groups) {
        const target = resolveInside(root, group.relative);
        if (target === undefined) {
          // Only a template built entirely from built-ins can reach this, and those are sanitised.
          for (const index of group.indexes) failures.push({ index, error: new FatalError(`path "${group.relative}" would leave the root folder`) });
          continue;
        }
        // The path below the root, with `/` (the lock key and what messages name).
        const relative = path.relative(root, target).split(path.sep).join('/');
        try {
          const piece = encode(group.records);
          const written = await inFolder(relative, (folder, name) =>
            config.mode === 'batch' ? writeWholeFile(folder, name, piece) : appendToFile(folder, name, piece, batch, now),
          );
          bytesWritten.inc({ format: config.format }, written);
        } catch (err) {
          const error = fileError(err, relative, root);
          if (error instanceof FatalError) logger.warn({ batch: batch.id, file: relative, reason: error.message }, 'file refused');
          fileFailures += group.indexes.length;
          for (const index of group.indexes) failures.push({ index, error });
        }
      }
      if (failures.length === 0) return;
      // One kind of failure for every record: the whole batch fails with it (retried, or dead-lettered when fatal).
      const fatal = failures.map((f) => f.error instanceof FatalError);
      if (fileFailures === batch.records.length && fatal.every((f) => f === fatal[0])) throw failures[0]!.error;
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
    // Appends to one file are serialised anyway; whole files per batch can be written in parallel.
    maxInFlight: config.mode === 'append' ? 1 : 4,
    // A retried batch overwrites its own file in batch mode; appends are at-least-once.
    idempotent: config.mode === 'batch',
  }),
  create: (config, ctx) => createFileInstance(config, ctx),
});
