/**
 * A drain run of a webhook inbox (`webhook.delivery: inbox`): a connector that reads the
 * pipeline's inbox after its inbox checkpoint as one page of at most `maxRecords` records (it
 * waits for more until `maxWaitMs` pass with nothing new), and a checkpoint store that removes
 * the delivered rows once the page's checkpoint is committed.
 *
 * A page's bounds are written (stream `webhook-inbox-page`) before the page is routed: an
 * attempt that resumes from the same checkpoint (a kill -9, a take-over) reads exactly the same
 * rows again, so its records get the same keys and its batches the same ids, and a destination
 * that keys by them absorbs the repeat instead of skipping rows that arrived in between.
 *
 * @packageDocumentation
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  CheckpointStore,
  ConnectorInstance,
  JsonValue,
  WebhookInboxEntry,
  WebhookInboxStore,
} from '@sluice/core';
import type { InboxDrainParams } from '@sluice/scheduler';

/** The checkpoint stream of a pipeline's inbox position (apart from its source's checkpoint). */
export const INBOX_STREAM = 'webhook-inbox';
/** The checkpoint stream of the page a drain routes, written before it is routed. */
const PAGE_STREAM = 'webhook-inbox-page';
/** How often a drain waiting for deliveries looks again. */
const POLL_MS = 25;
/**
 * How long a drain that caught up with a stream of arrivals waits before reading again. Each
 * read holds the pipeline's appends back for about one append statement (see
 * WebhookInboxStore.read), so under a steady stream this sets the share of time senders wait on
 * a drain: reading every POLL_MS would stall them for a good part of each interval.
 */
const STREAM_READ_MS = 100;
/** Rows one read of a planned page fetches. */
const READ_ROWS = 1000;

/** The inbox position of a checkpoint state (`{ inboxPosition }`); 0 without one. */
export function inboxPositionOf(state: JsonValue | undefined): number {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return 0;
  const position = state.inboxPosition;
  return typeof position === 'number' && Number.isSafeInteger(position) && position > 0
    ? position
    : 0;
}

function planOf(value: JsonValue | undefined): { after: number; through: number } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { after, through } = value;
  return typeof after === 'number' && typeof through === 'number' ? { after, through } : undefined;
}

/** Options of {@link createInboxDrain}. */
export interface InboxDrainOptions {
  inbox: WebhookInboxStore;
  checkpoints: CheckpointStore;
  pipeline: string;
  params: InboxDrainParams;
}

/**
 * The connector and checkpoint store of one drain run; run them with `runPipeline` under
 * {@link INBOX_STREAM}.
 *
 * @example
 * ```ts
 * const drain = createInboxDrain({ inbox: store.webhookInbox, checkpoints: store.checkpoints, pipeline, params });
 * await runPipeline({ connector: drain.connector, checkpoints: drain.checkpoints, stream: INBOX_STREAM, ... });
 * ```
 */
export function createInboxDrain(options: InboxDrainOptions): {
  connector: ConnectorInstance;
  checkpoints: CheckpointStore;
} {
  const { inbox, checkpoints, pipeline, params } = options;

  /** Exactly the rows of a page planned before: (after, through]. */
  const readPlanned = async (after: number, through: number) => {
    const rows: WebhookInboxEntry[] = [];
    let last = after;
    while (last < through) {
      const batch = await inbox.read(pipeline, { after: last, limit: READ_ROWS });
      if (batch.length === 0) break;
      for (const entry of batch) if (entry.position <= through) rows.push(entry);
      last = batch.at(-1)!.position;
    }
    return rows;
  };

  /** Up to maxRecords records' rows, waiting for more until maxWaitMs pass with nothing new. */
  const accumulate = async (after: number, signal: AbortSignal) => {
    const rows: WebhookInboxEntry[] = [];
    let records = 0;
    let last = after;
    let idleSince = Date.now();
    while (records < params.maxRecords) {
      const limit = Math.min(READ_ROWS, params.maxRecords - records);
      const batch = await inbox.read(pipeline, { after: last, limit });
      if (batch.length === 0) {
        const waited = Date.now() - idleSince;
        if (waited >= params.maxWaitMs) break;
        await sleep(Math.min(POLL_MS, params.maxWaitMs - waited), undefined, { signal });
        continue;
      }
      for (const entry of batch) {
        // Whole deliveries only; one larger than maxRecords still goes, alone.
        if (rows.length > 0 && records + entry.records.length > params.maxRecords) return rows;
        rows.push(entry);
        records += entry.records.length;
        last = entry.position;
      }
      idleSince = Date.now();
      // Caught up with a stream of arrivals: wait before reading again (STREAM_READ_MS), not at
      // once, which would hold appends back continuously, one short read after another.
      if (batch.length < limit && records < params.maxRecords) {
        await sleep(STREAM_READ_MS, undefined, { signal });
      }
    }
    return rows;
  };

  const connector: ConnectorInstance = {
    async *read(request, signal) {
      const after = inboxPositionOf(request.state);
      const plan = planOf(await checkpoints.get(pipeline, PAGE_STREAM));
      const rows =
        plan && plan.after === after
          ? await readPlanned(after, plan.through)
          : await accumulate(after, signal);
      if (rows.length === 0) return;
      const through = rows.at(-1)!.position;
      await checkpoints.commit(pipeline, { after, through }, PAGE_STREAM);
      yield { records: rows.flatMap((row) => row.records), state: { inboxPosition: through } };
    },
  };

  return {
    connector,
    checkpoints: {
      get: (name, stream) => checkpoints.get(name, stream),
      async commit(name, state, stream) {
        await checkpoints.commit(name, state, stream);
        // Delivered and checkpointed: the rows can go. A failure here leaves them behind the
        // checkpoint, where no drain reads them; the next commit removes them.
        const through = inboxPositionOf(state);
        if (through > 0) await inbox.remove(pipeline, through).catch(() => 0);
      },
    },
  };
}
