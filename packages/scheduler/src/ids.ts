/**
 * Deterministic identifiers: the same logical run (a pipeline's tick, a backfill chunk) gets the
 * same id on every instance, so the queue's unique insert makes a duplicate impossible.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';

/**
 * A UUID (RFC 9562 version 8, "custom") derived from a name with SHA-256: stable across
 * processes and machines, and a valid `uuid` for PostgreSQL and pg-boss.
 *
 * @example
 * ```ts
 * deterministicUuid('sluice:cron:daily:2026-01-01T08:00:00.000Z'); // same value everywhere
 * ```
 */
export function deterministicUuid(name: string): string {
  const bytes = createHash('sha256').update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The run id of one cron tick of a pipeline: every scheduler instance that fires this tick
 * computes the same id.
 *
 * @example
 * ```ts
 * cronRunId('daily', Date.parse('2026-01-01T08:00:00Z'));
 * ```
 */
export function cronRunId(pipeline: string, tickMs: number): string {
  return deterministicUuid(`sluice:cron:${pipeline}:${new Date(tickMs).toISOString()}`);
}

/**
 * The run id of one chunk of a backfill.
 *
 * @example
 * ```ts
 * backfillChunkRunId('4d6f…', 3);
 * ```
 */
export function backfillChunkRunId(backfillId: string, index: number): string {
  return deterministicUuid(`sluice:backfill:${backfillId}:${index}`);
}
