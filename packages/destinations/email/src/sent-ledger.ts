/**
 * What this destination already sent, so a repeat of a batch — a retry, a take-over after a
 * crash that re-reads the source from its checkpoint, a dead-letter replay — is not e-mailed
 * again. Each mail has one identity (its {@link mailKey}), which is also its Message-ID.
 *
 * Kept in the engine's plugin state (`ctx.state`, the server's store) when there is one, so a
 * restarted or another instance knows; in memory otherwise. The one window left: a crash after
 * the SMTP server accepted a mail and before the ledger write sends that mail once more, with
 * the same Message-ID.
 *
 * @packageDocumentation
 */
import { createMemoryPluginState, type Batch, type Clock, type PluginStateStore } from '@sluice/core';

/** How long a sent mail is remembered: longer than any take-over or replay takes to come. */
export const SENT_TTL_MS = 7 * 24 * 3_600_000;

/**
 * The identity of the mail of record `index` of `batch` (or of the batch's digest): the record's
 * key when the router gave one (the same on a partial retry, where the batch id and index
 * change), else the batch id and index.
 *
 * @example
 * ```ts
 * mailKey({ id: 'daily-mail-7f3a-3f9c0a21be-000001', recordKeys: ['daily-mail-7f3a-3f9c0a21be-r000001'], ... }, 0);
 * // "daily-mail-7f3a-3f9c0a21be-r000001"
 * ```
 */
export function mailKey(batch: Pick<Batch, 'id' | 'recordKeys'>, index: number | 'digest'): string {
  if (index === 'digest') return `${batch.id}.digest`;
  return batch.recordKeys?.[index] ?? `${batch.id}.${index}`;
}

/** The mails already sent. */
export interface SentLedger {
  has(key: string): Promise<boolean>;
  add(key: string): Promise<void>;
}

/**
 * A ledger in `state` (or in memory, bounded to `remember` entries); none when `remember` is 0.
 *
 * @example
 * ```ts
 * const sent = createSentLedger(ctx.state, config.rememberSent, ctx.clock);
 * if (!(await sent.has(key))) { await send(mail); await sent.add(key); }
 * ```
 */
export function createSentLedger(state: PluginStateStore | undefined, remember: number, clock: Clock): SentLedger {
  if (remember <= 0) return { has: async () => false, add: async () => {} };
  const store = state ?? createMemoryPluginState({ clock, maxKeys: remember });
  return {
    has: async (key) => (await store.get(`sent:${key}`)) !== undefined,
    add: (key) => store.set(`sent:${key}`, clock.now(), { ttlMs: SENT_TTL_MS }),
  };
}
