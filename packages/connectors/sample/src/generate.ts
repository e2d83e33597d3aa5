import type { SluiceRecord } from '@sluice/core';

/** A small, fast deterministic PRNG (mulberry32): the same seed gives the same numbers everywhere. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY_MS = 86_400_000;

/** The date of the first record when records follow their sequence number, not the clock. */
export const DEFAULT_START_DATE = '2026-11-01';

/** What a generated record looks like (see {@link sampleRecord}). */
export interface SampleOptions {
  seed: number;
  channels: readonly string[];
  /** Sequence mode: the date of record 1; each full cycle of the channels is the next day. Default `2026-11-01`. */
  startDate?: string | undefined;
  /**
   * Clock mode: the length of one period in milliseconds. Periods are counted from 1970-01-01
   * UTC, and record `seq` belongs to period `floor((seq - 1) / channels.length)`, so `seq` names
   * one period and one channel and records carry the period's start (`periodStart`).
   */
  periodMs?: number | undefined;
}

/**
 * The record with sequence number `seq` (1-based): the traffic of one channel in one period.
 * Records cycle through the channels, one period per full cycle, so `seq` alone decides the
 * period, the channel and the numbers — any reader, any time, gets the same record for the same
 * `seq`. Without `periodMs` a period is a day counted from `startDate`; with it, a period of that
 * length counted from the Unix epoch (so `seq` follows the clock).
 *
 * @example
 * ```ts
 * sampleRecord(1, { seed: 42, channels: ['email', 'paid'], startDate: '2026-11-01' });
 * // { seq: 1, date: '2026-11-01', channel: 'email', sessions: ..., conversions: ..., revenue: ... }
 * ```
 */
export function sampleRecord(seq: number, options: SampleOptions): SluiceRecord {
  const index = seq - 1;
  const channelIndex = index % options.channels.length;
  const period = Math.floor(index / options.channels.length);
  const next = random(options.seed * 1_000_003 + seq);
  // A weekly rhythm plus noise (per period), and every ~9th period one channel drops sharply:
  // something for "alert when a channel falls more than 20 %" rules to find.
  const base = 400 + 250 * channelIndex;
  const weekly = 1 + 0.25 * Math.sin((2 * Math.PI * period) / 7);
  const drop = period % 9 === 8 && channelIndex === period % options.channels.length ? 0.6 : 1;
  const sessions = Math.max(0, Math.round(base * weekly * drop * (0.85 + 0.3 * next())));
  const conversions = Math.round(sessions * (0.01 + 0.04 * next()));
  const revenue = Math.round(conversions * (20 + 80 * next()) * 100) / 100;
  const channel = options.channels[channelIndex]!;
  if (options.periodMs !== undefined) {
    const start = new Date(period * options.periodMs);
    return {
      seq,
      date: start.toISOString().slice(0, 10),
      periodStart: start.toISOString(),
      channel,
      sessions,
      conversions,
      revenue,
    };
  }
  const date = new Date(
    Date.parse(`${options.startDate ?? DEFAULT_START_DATE}T00:00:00Z`) + period * DAY_MS,
  )
    .toISOString()
    .slice(0, 10);
  return { seq, date, channel, sessions, conversions, revenue };
}
