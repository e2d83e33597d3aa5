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

/** What a generated record looks like (see {@link sampleRecord}). */
export interface SampleOptions {
  seed: number;
  channels: readonly string[];
  startDate: string;
}

/**
 * The record with sequence number `seq` (1-based): daily traffic of one channel. Records cycle
 * through the channels, one day per full cycle, so `seq` alone decides the date, the channel and
 * the numbers — any reader, any time, gets the same record for the same `seq`.
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
  const day = Math.floor(index / options.channels.length);
  const next = random(options.seed * 1_000_003 + seq);
  // A weekly rhythm plus noise, and every ~9th day one channel drops sharply: something for
  // "alert when a channel falls more than 20 %" rules to find.
  const base = 400 + 250 * channelIndex;
  const weekly = 1 + 0.25 * Math.sin((2 * Math.PI * day) / 7);
  const drop = day % 9 === 8 && channelIndex === day % options.channels.length ? 0.6 : 1;
  const sessions = Math.max(0, Math.round(base * weekly * drop * (0.85 + 0.3 * next())));
  const conversions = Math.round(sessions * (0.01 + 0.04 * next()));
  const revenue = Math.round(conversions * (20 + 80 * next()) * 100) / 100;
  const date = new Date(Date.parse(`${options.startDate}T00:00:00Z`) + day * DAY_MS).toISOString().slice(0, 10);
  return { seq, date, channel: options.channels[channelIndex]!, sessions, conversions, revenue };
}
