/**
 * Backfills: a date range split into chunks, one run per chunk. Chunk run ids are derived from
 * the backfill id, so starting the same backfill again resumes it: finished chunks are kept,
 * queued and running ones are left alone, failed or cancelled ones get a new run.
 *
 * @packageDocumentation
 */
import {
  ConfigError,
  type ConfigIssue,
  type JsonObject,
  type RunRecord,
  type RunStatus,
} from '@sluice/core';
import { backfillChunkRunId, deterministicUuid } from './ids.js';

/** A backfill request: inclusive calendar dates `YYYY-MM-DD`. */
export interface BackfillSpec {
  from: string;
  to: string;
  /** Days per chunk. Default 1. */
  chunkDays?: number;
  /** Extra parameters given to every chunk's run. */
  params?: JsonObject;
  /** Resume a backfill by id; default an id derived from the pipeline, range, chunking and params. */
  id?: string;
}

/** One chunk of a backfill. */
export interface BackfillChunk {
  index: number;
  from: string;
  to: string;
}

/** What happened to one chunk when a backfill was (re)started. */
export interface BackfillChunkResult extends BackfillChunk {
  runId: string;
  /** `enqueued`: a first run; `retried`: a new run after a failed/cancelled one; `kept`: an existing run stays. */
  action: 'enqueued' | 'retried' | 'kept';
  status: RunStatus;
}

/** The result of starting or resuming a backfill. */
export interface BackfillResult {
  backfillId: string;
  chunks: BackfillChunkResult[];
}

/** Most chunks one backfill may have. */
export const MAX_BACKFILL_CHUNKS = 10_000;

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function parseDate(value: unknown, path: string, issues: ConfigIssue[]): number | undefined {
  if (typeof value !== 'string' || !DATE.test(value)) {
    issues.push({ path, message: 'expected a date YYYY-MM-DD' });
    return undefined;
  }
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    issues.push({ path, message: `${value} is not a calendar date` });
    return undefined;
  }
  return ms;
}

/**
 * Splits an inclusive date range into chunks of `chunkDays` days (the last may be shorter).
 *
 * @throws ConfigError naming `from`, `to` or `chunkDays`.
 * @example
 * ```ts
 * splitDateRange('2026-01-01', '2026-01-05', 2);
 * // [{ index: 0, from: '2026-01-01', to: '2026-01-02' }, { index: 1, from: '2026-01-03', to: '2026-01-04' },
 * //  { index: 2, from: '2026-01-05', to: '2026-01-05' }]
 * ```
 */
export function splitDateRange(from: string, to: string, chunkDays = 1): BackfillChunk[] {
  const issues: ConfigIssue[] = [];
  const start = parseDate(from, 'from', issues);
  const end = parseDate(to, 'to', issues);
  if (!Number.isInteger(chunkDays) || chunkDays < 1)
    issues.push({ path: 'chunkDays', message: 'expected a whole number >= 1' });
  if (start !== undefined && end !== undefined && end < start)
    issues.push({ path: 'to', message: `must not be before from (${from})` });
  if (issues.length === 0 && start !== undefined && end !== undefined) {
    const count = Math.ceil(((end - start) / DAY_MS + 1) / chunkDays);
    if (count > MAX_BACKFILL_CHUNKS)
      issues.push({
        path: 'chunkDays',
        message: `the range needs ${count} chunks; at most ${MAX_BACKFILL_CHUNKS} are allowed`,
      });
  }
  if (issues.length > 0 || start === undefined || end === undefined)
    throw new ConfigError(issues, { title: 'Invalid backfill' });
  const chunks: BackfillChunk[] = [];
  for (let at = start, index = 0; at <= end; at += chunkDays * DAY_MS, index += 1) {
    const last = Math.min(end, at + (chunkDays - 1) * DAY_MS);
    chunks.push({
      index,
      from: new Date(at).toISOString().slice(0, 10),
      to: new Date(last).toISOString().slice(0, 10),
    });
  }
  return chunks;
}

/**
 * The id of a backfill: the given one, or one derived from everything that defines it.
 *
 * @example
 * ```ts
 * backfillId('daily', { from: '2026-01-01', to: '2026-01-31' }); // same value on every call
 * ```
 */
export function backfillId(pipeline: string, spec: BackfillSpec): string {
  if (spec.id) return spec.id;
  return deterministicUuid(
    `sluice:backfill:${JSON.stringify([pipeline, spec.from, spec.to, spec.chunkDays ?? 1, spec.params ?? {}])}`,
  );
}

/**
 * The run id of generation `generation` of a chunk (0 = the first run; a retry after a failed or
 * cancelled run is the next generation).
 *
 * @example
 * ```ts
 * chunkRunId(id, 4, 0) === backfillChunkRunId(id, 4); // true
 * ```
 */
export function chunkRunId(id: string, index: number, generation: number): string {
  return generation === 0
    ? backfillChunkRunId(id, index)
    : deterministicUuid(`sluice:backfill:${id}:${index}:${generation}`);
}

/**
 * Finds the newest existing run of a chunk.
 *
 * @example
 * ```ts
 * const latest = await latestChunkRun(id, 2, (runId) => store.runs.get(runId));
 * ```
 */
export async function latestChunkRun(
  id: string,
  index: number,
  get: (runId: string) => Promise<RunRecord | undefined>,
): Promise<{ generation: number; run: RunRecord } | undefined> {
  let found: { generation: number; run: RunRecord } | undefined;
  for (let generation = 0; ; generation += 1) {
    const run = await get(chunkRunId(id, index, generation));
    if (!run) return found;
    found = { generation, run };
  }
}
