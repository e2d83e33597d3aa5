/**
 * The `slack` destination: posts records to Slack with `chat.postMessage` — one message per
 * record or one digest per batch — with liquidjs text and Block Kit templates, channels from
 * config or records, threads by key, per-channel pacing, Retry-After on rate limits, duplicate
 * suppression for retried batches and, with `dedupe`, across runs and restarts.
 *
 * @packageDocumentation
 */
import { WebClient, type ChatPostMessageArguments } from '@slack/web-api';
import {
  FatalError,
  PartialBatchError,
  createDeliveryLedger,
  createMemoryPluginState,
  RetryableError,
  createRedactor,
  type Batch,
  type CheckResult,
  type DestinationInstance,
  type JsonValue,
  type PluginContext,
  type RecordFailure,
  type SluiceError,
} from '@sluice/core';
import { createAddressPolicy, createGuardedConnector } from '@sluice/core/net';
import { compileTemplate, isStaticTemplate, TemplateError } from '@sluice/core/template';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { channelProblem, isChannelId } from './channel.js';
import type { SlackConfig } from './config.js';
import { escapeBlockKitString, escapeSlackText } from './escape.js';
import { createPacer } from './pacer.js';
import { mapSlackError } from './errors.js';
import { slackLoggerFor } from './slack-logger.js';
import { createPostedKeys } from './dedupe.js';
import {
  createMemoryThreadStore,
  createStateThreadStore,
  type SlackThreadStore,
} from './thread-store.js';

/** Things an embedder passes that do not belong in (serialisable) config. */
export interface SlackDestinationOptions {
  /**
   * Thread store (key → ts). Default: the engine's plugin state (`ctx.state`) when given, so
   * threads survive restarts and are shared between server instances; otherwise a bounded
   * in-memory map of `thread.maxKeys` keys.
   */
  threadStore?: SlackThreadStore;
}

/** One message ready to post. */
interface OutgoingMessage {
  channel: string;
  text: string;
  blocks?: unknown[];
  threadKey?: string;
  dedupeKey?: string;
}

const HOUR_MS = 3_600_000;

/** The batch fields templates see as `batch.*`. */
function batchScope(batch: Batch) {
  return {
    id: batch.id,
    pipeline: batch.pipeline,
    runId: batch.runId,
    source: batch.source,
    route: batch.route ?? '',
    attempt: batch.attempt,
    size: batch.records.length,
  };
}

/** A record that cannot become a message (bad template value, bad channel, bad blocks). */
class MessageError extends FatalError {}

/**
 * Creates a live Slack destination from a parsed config. Most users go through
 * {@link slackDestination} and the registry; this is the embedding entry point, where a
 * thread store of one's own can be passed. Threads and `dedupe` keys are kept in `ctx.state`
 * when the context has one (the server's store), in memory otherwise.
 *
 * @example
 * ```ts
 * const slack = createSlackDestination(parseConfig(slackConfigSchema, raw), createPluginContext(), {
 *   threadStore: myKeyValueStore,
 * });
 * await slack.write(batch, { signal });
 * ```
 */
export function createSlackDestination(
  config: SlackConfig,
  ctx: PluginContext,
  options: SlackDestinationOptions = {},
): DestinationInstance {
  const channel = compileTemplate('channel', config.channel);
  const text = compileTemplate('text', config.text, escapeSlackText);
  const blocks =
    config.blocks === undefined
      ? undefined
      : compileTemplate('blocks', config.blocks, escapeBlockKitString);
  const threadKey = config.thread ? compileTemplate('thread.key', config.thread.key) : undefined;
  const channelFromRecord = !isStaticTemplate(config.channel);
  const dedupeKey = config.dedupe ? compileTemplate('dedupe.key', config.dedupe.key) : undefined;
  const threads =
    options.threadStore ??
    (ctx.state
      ? createStateThreadStore(ctx.state, (config.thread?.ttlHours ?? 720) * HOUR_MS)
      : createMemoryThreadStore(config.thread?.maxKeys ?? 10_000));
  const postedKeys = config.dedupe
    ? createPostedKeys(
        ctx.state ?? createMemoryPluginState({ clock: ctx.clock, maxKeys: config.dedupe.maxKeys }),
        config.dedupe.ttlHours * HOUR_MS,
      )
    : undefined;
  // The identity of every posted message (the record key, or the batch id for a digest), kept in
  // the store: a repeat — retry, take-over after a crash, replay — skips it (effectively once).
  // The identity of every posted message (the record key, or the batch id for a digest): a
  // repeat — retry, take-over after a crash, replay — skips it (effectively once).
  const sent = createDeliveryLedger({
    state: ctx.state,
    clock: ctx.clock,
    remember: config.rememberPosted,
  });
  const wasSent = (key: string) => sent.has(key);
  const markSent = async (key: string) => {
    if (!(await sent.add(key)))
      logger.warn(
        { key },
        'could not remember a posted message in the store; a take-over or replay of its batch may post it again',
      );
  };
  const pacer = createPacer(config.pacingMs, ctx.clock);
  const logger = ctx.logger.child({ destination: 'slack' });
  const redact = createRedactor([config.token]);
  const messagesTotal = ctx.metrics.counter({
    name: 'slack_messages_total',
    help: 'Slack messages by outcome (posted, skipped_duplicate: already posted by a retried batch, skipped_dedupe: dedupe key already posted, retryable, fatal)',
    labelNames: ['outcome'],
  });
  // Every connection the SDK opens (apiUrl, any redirect) goes through the outgoing-connection
  // guard: DNS answers are checked and the checked address is the one connected to.
  const dispatcher = new Agent({
    connect: createGuardedConnector(createAddressPolicy(config.ssrf), buildConnector, {
      connectTimeoutMs: config.timeoutMs,
    }),
  });
  const guardedFetch = ((input: string | URL, init?: object) =>
    undiciFetch(input, { ...init, dispatcher } as Parameters<
      typeof undiciFetch
    >[1])) as unknown as typeof fetch;
  const client = new WebClient(config.token, {
    slackApiUrl: config.apiUrl,
    fetch: guardedFetch,
    // The router owns retries (with backoff and dead letters); the SDK's default policy would
    // wait up to ~30 minutes inside one write.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: config.timeoutMs,
    logger: slackLoggerFor(logger),
  });
  let closed = false;

  const render = (scope: object): OutgoingMessage => {
    const target = channel.render(scope).trim();
    const problem = channelProblem(target);
    if (problem)
      throw new MessageError(`template channel: ${problem}`, { details: { field: 'channel' } });
    const message: OutgoingMessage = { channel: target, text: text.render(scope) };
    if (blocks) {
      const json = blocks.render(scope);
      let parsed: unknown;
      try {
        parsed = JSON.parse(json);
      } catch (err) {
        throw new MessageError(
          `template blocks: did not render to valid JSON (${(err as Error).message})`,
          { details: { field: 'blocks' } },
        );
      }
      if (!Array.isArray(parsed))
        throw new MessageError('template blocks: must render to a JSON array of blocks', {
          details: { field: 'blocks' },
        });
      message.blocks = parsed;
    }
    if (threadKey) {
      const key = threadKey.render(scope).trim();
      if (key !== '') message.threadKey = key;
    }
    if (dedupeKey) {
      const key = dedupeKey.render(scope).trim();
      if (key !== '') message.dedupeKey = key;
    }
    return message;
  };

  const asFailure = (err: unknown): SluiceError => {
    if (err instanceof TemplateError) {
      return new MessageError(err.message, {
        details: {
          field: err.template,
          ...(err.variable ? { variable: err.variable } : {}),
        } as Record<string, JsonValue>,
      });
    }
    return err as SluiceError;
  };

  /**
   * Whether the message's dedupe key was posted already (then it is skipped). The key is
   * remembered only after a successful post (in `post`), so a crash between the post and the
   * write of the key can repeat that one message — never lose one.
   */
  const alreadyPosted = async (message: OutgoingMessage): Promise<boolean> =>
    message.dedupeKey !== undefined &&
    postedKeys !== undefined &&
    (await postedKeys.wasPosted(message.dedupeKey));

  /** Posts one message (threading, pacing); returns its ts. */
  const post = async (message: OutgoingMessage, signal: AbortSignal): Promise<string> => {
    const threadStoreKey =
      message.threadKey === undefined ? undefined : `${message.channel}:${message.threadKey}`;
    let parentTs: string | undefined;
    try {
      parentTs = threadStoreKey === undefined ? undefined : await threads.get(threadStoreKey);
    } catch (err) {
      throw new RetryableError(
        `slack threads: cannot read the thread store (${(err as Error).message})`,
        { cause: err },
      );
    }
    await pacer.wait(message.channel, signal);
    const args: Record<string, unknown> = {
      channel: message.channel,
      text: message.text,
      mrkdwn: config.mrkdwn,
      unfurl_links: config.unfurlLinks,
      unfurl_media: config.unfurlMedia,
      ...(message.blocks ? { blocks: message.blocks } : {}),
      ...(parentTs
        ? { thread_ts: parentTs, ...(config.thread?.broadcast ? { reply_broadcast: true } : {}) }
        : {}),
      ...(config.username ? { username: config.username } : {}),
      ...(config.iconEmoji ? { icon_emoji: config.iconEmoji } : {}),
      ...(config.iconUrl ? { icon_url: config.iconUrl } : {}),
    };
    let result;
    try {
      result = await client.chat.postMessage(args as unknown as ChatPostMessageArguments);
    } catch (err) {
      const failure = mapSlackError(err, { channelFromRecord });
      pacer.record(
        message.channel,
        failure.error instanceof RetryableError ? failure.error.retryAfterMs : 0,
      );
      throw Object.assign(failure.error, { scope: failure.scope });
    }
    pacer.record(message.channel);
    const ts = typeof result.ts === 'string' ? result.ts : '';
    if (threadStoreKey !== undefined && parentTs === undefined && ts !== '') {
      // The message is out: a lost thread must not make the router post it again.
      await Promise.resolve(threads.set(threadStoreKey, ts)).catch((err: unknown) =>
        logger.warn(
          { err: (err as Error).message, thread: message.threadKey },
          'could not remember the Slack thread; later replies start a new one',
        ),
      );
    }
    if (
      message.dedupeKey !== undefined &&
      postedKeys &&
      !(await postedKeys.remember(message.dedupeKey, { ts, channel: message.channel }))
    ) {
      logger.warn(
        { key: message.dedupeKey },
        'could not remember the posted dedupe key; a later run may post this message again',
      );
    }
    return ts;
  };

  const scopeOf = (err: unknown): 'record' | 'batch' =>
    (err as { scope?: unknown }).scope === 'record' || err instanceof MessageError
      ? 'record'
      : 'batch';

  const writeDigest = async (batch: Batch, signal: AbortSignal) => {
    const key = `${batch.id}#digest`;
    if (await wasSent(key)) {
      messagesTotal.inc({ outcome: 'skipped_duplicate' });
      return;
    }
    let message: OutgoingMessage;
    try {
      message = render({
        records: batch.records,
        batch: batchScope(batch),
        count: batch.records.length,
      });
    } catch (err) {
      messagesTotal.inc({ outcome: 'fatal' });
      throw asFailure(err);
    }
    try {
      if (await alreadyPosted(message)) {
        await markSent(key);
        messagesTotal.inc({ outcome: 'skipped_dedupe' });
        return;
      }
      await post(message, signal);
      await markSent(key);
      messagesTotal.inc({ outcome: 'posted' });
    } catch (err) {
      messagesTotal.inc({ outcome: err instanceof RetryableError ? 'retryable' : 'fatal' });
      throw redactError(err);
    }
  };

  const writeRecords = async (batch: Batch, signal: AbortSignal) => {
    const failures: RecordFailure[] = [];
    const scope = batchScope(batch);
    let delivered = 0;
    let stop: SluiceError | undefined;
    for (let index = 0; index < batch.records.length; index++) {
      if (stop === undefined && signal.aborted)
        stop = new RetryableError('the write was aborted before every message was posted', {
          cause: signal.reason,
        });
      // The record key is the same on a partial retry (new batch id, new index) and a take-over.
      const key = batch.recordKeys?.[index] ?? `${batch.id}#${index}`;
      if (stop !== undefined) {
        if (!(await wasSent(key).catch(() => false))) failures.push({ index, error: stop });
        continue;
      }
      if (await wasSent(key)) {
        delivered += 1;
        messagesTotal.inc({ outcome: 'skipped_duplicate' });
        continue;
      }
      try {
        const message = render({ record: batch.records[index], index, batch: scope });
        if (await alreadyPosted(message)) {
          await markSent(key);
          delivered += 1;
          messagesTotal.inc({ outcome: 'skipped_dedupe' });
          continue;
        }
        await post(message, signal);
        await markSent(key);
        delivered += 1;
        messagesTotal.inc({ outcome: 'posted' });
      } catch (err) {
        const error = redactError(asFailure(err));
        if (scopeOf(error) === 'record') {
          failures.push({ index, error });
          messagesTotal.inc({ outcome: 'fatal' });
        } else {
          stop = error;
          failures.push({ index, error });
          messagesTotal.inc({ outcome: error instanceof RetryableError ? 'retryable' : 'fatal' });
        }
      }
    }
    if (failures.length === 0) return;
    // Nothing of this batch reached Slack and the cause is not about one record: report the
    // cause itself (with its Retry-After) rather than N copies of it.
    if (stop !== undefined && delivered === 0 && failures.every((f) => f.error === stop))
      throw stop;
    logger.warn(
      { batch: batch.id, failed: failures.length, delivered },
      'some Slack messages failed',
    );
    throw new PartialBatchError(failures);
  };

  const redactError = <T>(err: T): T => {
    if (err instanceof Error) err.message = redact(err.message);
    return err;
  };

  return {
    async write(batch, { signal }) {
      if (closed) throw new FatalError('the slack destination is closed');
      if (batch.records.length === 0) return;
      if (config.mode === 'digest') await writeDigest(batch, signal);
      else await writeRecords(batch, signal);
    },

    async check(): Promise<CheckResult> {
      try {
        const auth = await client.auth.test();
        const details: Record<string, JsonValue> = {
          team: String(auth.team ?? ''),
          user: String(auth.user ?? ''),
        };
        if (!channelFromRecord && isChannelId(config.channel)) {
          const info = await client.conversations.info({ channel: config.channel });
          if (info.channel?.is_member === false) {
            return {
              ok: false,
              message: `the app is not a member of ${config.channel}: invite it with /invite`,
              details,
            };
          }
          if (info.channel?.is_archived)
            return { ok: false, message: `channel ${config.channel} is archived`, details };
        }
        return {
          ok: true,
          message: `authenticated as ${details.user} in ${details.team}`,
          details,
        };
      } catch (err) {
        const { error } = mapSlackError(err, { channelFromRecord: false });
        return { ok: false, message: redact(error.message) };
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await dispatcher.close();
    },
  };
}
