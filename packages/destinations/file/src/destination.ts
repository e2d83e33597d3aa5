/**
 * The `file` destination: writes NDJSON, JSON arrays or CSV under a root folder, to paths built
 * from a template, either one file per batch (idempotent) or appending to a file (with
 * rotation). Every write is atomic; see `atomic-file.ts` for how and what it costs.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { promises as fs } from 'node:fs';
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
import { appendFileAtomic, rotateFile, UnexpectedFileEndError, writeFileAtomic } from './atomic-file.js';
import { forgetAppendState, pieceDigest, readAppendState, rememberAppend } from './append-state.js';
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

function createFileInstance(config: FileConfig, ctx: PluginContext): DestinationInstance {
  const parsed = parsePathTemplate(config.path, 'path');
  if ('issues' in parsed) throw new ConfigError(parsed.issues);
  const template: PathTemplate = parsed;
  const root = path.resolve(config.root);
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

  async function writeWholeFile(target: string, piece: EncodedPiece): Promise<number> {
    const chunks = [await bytesOf(piece.head + piece.body)];
    if (piece.tail !== '') chunks.push(await bytesOf(piece.tail));
    await writeFileAtomic(target, chunks);
    return chunks.reduce((n, c) => n + c.length, 0);
  }

  async function appendToFile(target: string, piece: EncodedPiece, batch: Batch, now: number): Promise<number> {
    return withLock(target, async () => {
      let state = await readAppendState(target);
      let size = await fs.stat(target).then((s) => s.size, (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return -1;
        throw err;
      });
      const digest = pieceDigest(batch.id, piece.body);
      if (size >= 0 && state?.digests.includes(digest)) {
        logger.debug({ batch: batch.id, file: target }, 'batch already appended; skipping the retry');
        return 0;
      }
      const addition = await bytesOf(piece.separator + piece.body);
      const tail = piece.tail === '' ? Buffer.alloc(0) : await bytesOf(piece.tail);
      const rotate = config.rotate;
      if (size >= 0 && rotate !== undefined) {
        const createdAt = state?.createdAt ?? (await fs.stat(target)).mtimeMs;
        const tooBig = rotate.maxBytes !== undefined && size + addition.length > rotate.maxBytes;
        const tooOld = rotate.maxAgeMs !== undefined && now - createdAt >= rotate.maxAgeMs;
        if (tooBig || tooOld) {
          // Named after the time the file was started, so rotated files sort in order.
          const rotated = await rotateFile(target, createdAt, config.gzip);
          await forgetAppendState(target);
          logger.info({ file: target, rotated, reason: tooBig ? 'size' : 'age' }, 'rotated file');
          state = undefined;
          size = -1;
        }
      }
      let written: number;
      if (size < 0) {
        written = await writeWholeFile(target, piece);
      } else {
        await appendFileAtomic(target, tail, tail.length > 0 ? [addition, tail] : [addition]);
        written = addition.length + tail.length;
      }
      await rememberAppend(target, size < 0 ? now : (state?.createdAt ?? now), size < 0 ? [] : (state?.digests ?? []), digest);
      return written;
    });
  }

  return {
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
        try {
          const piece = encode(group.records);
          const written = config.mode === 'batch' ? await writeWholeFile(target, piece) : await appendToFile(target, piece, batch, now);
          bytesWritten.inc({ format: config.format }, written);
        } catch (err) {
          const error =
            err instanceof UnexpectedFileEndError
              ? new FatalError(err.message, { cause: err })
              : new RetryableError(`writing ${group.relative} under ${root}: ${(err as Error).message}`, { cause: err });
          fileFailures += group.indexes.length;
          for (const index of group.indexes) failures.push({ index, error });
        }
      }
      if (failures.length === 0) return;
      if (fileFailures === batch.records.length) throw failures[0]!.error;
      logger.warn({ batch: batch.id, failed: failures.length }, 'records not written');
      throw new PartialBatchError(failures);
    },

    async check(): Promise<CheckResult> {
      try {
        await fs.mkdir(root, { recursive: true });
        const probe = path.join(root, `.sluice-check-${process.pid}`);
        await writeFileAtomic(probe, [Buffer.from('ok')]);
        await fs.rm(probe, { force: true });
        return { ok: true, message: `${root} is writable` };
      } catch (err) {
        return { ok: false, message: `${root} is not writable: ${(err as Error).message}` };
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
