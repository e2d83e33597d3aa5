/**
 * One destination's side of the router: a buffer that turns items into batches (by count, bytes
 * and age), a bounded number of batches in flight, and the retry loop for each batch.
 *
 * A batch's id is the source position of its first record (see source-position.ts), so it is
 * the same in every attempt of the run as long as the batch holds the same records. For a
 * destination that keys its output by batch id (`idempotency: 'batch'`) the queue makes sure it
 * does: batches are cut at checkpoint boundaries and size limits only, never by `maxWaitMs`.
 *
 * @packageDocumentation
 */
import {
  PartialBatchError,
  RETRY_DEFAULTS,
  backoffDelay,
  childLogger,
  RetryableError,
  isRetryable,
  resolveBackoffPolicy,
  toError,
  type BackoffPolicy,
  type Batch,
  type DeliveryPolicy,
  type DestinationCapabilities,
  type DestinationInstance,
  type Logger,
  type PluginContext,
  type SluiceRecord,
} from '@sluice/core';
import type { CompiledRoute } from '../route-table.js';
import type { RouterMetrics } from './metrics.js';
import { batchIdAt, recordKey } from './record-key.js';

/** One record on its way to one destination. */
export interface DeliveryItem {
  /** Sequence number of the input record (for acknowledgement). */
  readonly seq: number;
  /**
   * Source position of the record (`<runId>-<segment>-<offset>`, `.n` for a transform's n-th further
   * output to this destination): what its record key and batch ids derive from.
   */
  readonly position: string;
  readonly route: CompiledRoute;
  /** The record as the route's transforms produced it. */
  readonly record: SluiceRecord;
  /** The record as it came from the source. */
  readonly original: SluiceRecord;
  /** JSON size in bytes, when the buffer limits bytes. */
  readonly bytes: number;
  readonly enqueuedAt: number;
}

/** A delivery that failed for good, with the error and the number of attempts made. */
export interface FailedDelivery {
  item: DeliveryItem;
  error: Error;
  attempts: number;
}

/** What a queue reports back to the router. */
export interface QueueCallbacks {
  delivered(destination: string, items: readonly DeliveryItem[]): void;
  /** Final failures; the router applies each route's onError. */
  failed(destination: string, failures: readonly FailedDelivery[]): void;
}

/** Static settings of a queue, with defaults filled in. */
export interface QueueSettings {
  maxRecords: number;
  maxBytes: number | undefined;
  maxWaitMs: number;
  concurrency: number;
  retry: BackoffPolicy;
  /** Items buffered + waiting + in flight above which `push` waits. */
  highWater: number;
  /**
   * Batches are cut only where every attempt cuts them (checkpoint boundaries, size limits),
   * never by `maxWaitMs`: the destination keys its output by batch id (`idempotency: 'batch'`).
   */
  deterministic: boolean;
}

/**
 * Resolves a destination's settings from its policy and capabilities: batches never exceed
 * `maxBatch`, and concurrency is the smaller of the policy and the destination's `maxInFlight`.
 *
 * @example
 * ```ts
 * resolveQueueSettings({ concurrency: 4 }, { idempotent: true, maxInFlight: 2, maxBatch: 100 });
 * // { maxRecords: 100, concurrency: 2, ... }
 * ```
 */
export function resolveQueueSettings(
  policy: DeliveryPolicy = {},
  capabilities: DestinationCapabilities,
  maxPendingRecords?: number,
): QueueSettings {
  const positive = (value: number | undefined, fallback: number) =>
    value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
  const maxBatch = positive(capabilities.maxBatch, Infinity);
  // The policy's size, else the destination's preferred one, else 500; never above maxBatch.
  const preferred = capabilities.preferredBatch;
  const maxRecords = Math.min(
    positive(policy.batch?.maxRecords, positive(preferred?.maxRecords, 500)),
    maxBatch,
  );
  const concurrency = Math.min(
    positive(policy.concurrency, 1),
    positive(capabilities.maxInFlight, 1),
  );
  const maxBytes =
    policy.batch?.maxBytes !== undefined ? positive(policy.batch.maxBytes, 1) : undefined;
  const wait = (ms: number | undefined) => ms !== undefined && Number.isFinite(ms) && ms >= 0;
  const maxWaitMs = wait(policy.batch?.maxWaitMs)
    ? policy.batch!.maxWaitMs!
    : wait(preferred?.maxWaitMs)
      ? preferred!.maxWaitMs!
      : 1000;
  return {
    maxRecords,
    maxBytes,
    maxWaitMs,
    concurrency,
    retry: resolveBackoffPolicy(policy.retry, RETRY_DEFAULTS.delivery),
    highWater: Math.max(positive(maxPendingRecords, 0), maxRecords * (concurrency + 1)),
    deterministic: capabilities.idempotency === 'batch',
  };
}

/**
 * The buffer, batcher and writer of one destination.
 *
 * @example
 * ```ts
 * const queue = new DestinationQueue({ name: 'warehouse', ... });
 * queue.add(item);
 * await queue.belowHighWater();
 * ```
 */
export class DestinationQueue {
  readonly name: string;
  readonly settings: QueueSettings;
  readonly #instance: DestinationInstance;
  readonly #ctx: PluginContext;
  readonly #logger: Logger;
  readonly #metrics: RouterMetrics;
  readonly #callbacks: QueueCallbacks;
  readonly #batchContext: { pipeline: string; runId: string; source: string };
  readonly #signal: AbortSignal;
  readonly #random: () => number;

  #buffer: DeliveryItem[] = [];
  #bufferBytes = 0;
  readonly #ready: { items: DeliveryItem[] }[] = [];
  #inFlight = 0;
  /** Items buffered, waiting for a slot, or being written/retried. */
  #size = 0;
  #timer: AbortController | undefined;
  #opened: Promise<void> | undefined;
  #drainWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #stopped = false;

  /** Counters for the run summary. */
  readonly stats = { delivered: 0, batches: 0, retries: 0 };

  constructor(options: {
    name: string;
    instance: DestinationInstance;
    settings: QueueSettings;
    ctx: PluginContext;
    logger: Logger;
    metrics: RouterMetrics;
    callbacks: QueueCallbacks;
    batchContext: { pipeline: string; runId: string; source: string };
    signal: AbortSignal;
    random: () => number;
  }) {
    this.name = options.name;
    this.settings = options.settings;
    this.#instance = options.instance;
    this.#ctx = options.ctx;
    this.#logger = childLogger(options.logger, { destination: options.name });
    this.#metrics = options.metrics;
    this.#callbacks = options.callbacks;
    this.#batchContext = options.batchContext;
    this.#signal = options.signal;
    this.#random = options.random;
  }

  /** Items not yet acknowledged by this queue. */
  get size(): number {
    return this.#size;
  }

  /** Buffers one item, cutting a batch when a count or byte limit is reached. */
  add(item: DeliveryItem): void {
    const { maxRecords, maxBytes } = this.settings;
    if (
      maxBytes !== undefined &&
      this.#buffer.length > 0 &&
      this.#bufferBytes + item.bytes > maxBytes
    )
      this.#cut();
    this.#buffer.push(item);
    this.#bufferBytes += item.bytes;
    this.#size++;
    if (
      this.#buffer.length >= maxRecords ||
      (maxBytes !== undefined && this.#bufferBytes >= maxBytes)
    )
      this.#cut();
    else if (this.#buffer.length === 1 && !this.settings.deterministic) this.#startTimer();
  }

  /** Resolves when the queue holds fewer items than its high-water mark (back-pressure). */
  belowHighWater(): Promise<void> | undefined {
    if (this.#size < this.settings.highWater || this.#stopped) return undefined;
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Sends whatever is buffered now, without waiting for `maxWaitMs`. */
  flushBuffer(): void {
    if (this.#buffer.length > 0) this.#cut();
  }

  /**
   * The source reached a checkpoint: a destination that keys by batch id never gets a batch
   * across it (a take-over resumes there, and its first batch must start there too).
   */
  checkpointReached(): void {
    if (this.settings.deterministic) this.flushBuffer();
  }

  /** Resolves when nothing is buffered, waiting or in flight. */
  idle(): Promise<void> {
    if (this.#size === 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops sending: timers end, waiting batches are abandoned (their records stay unacknowledged). */
  stop(): void {
    this.#stopped = true;
    this.#timer?.abort();
    this.#timer = undefined;
    this.#wake();
  }

  /** Closes the destination instance if it was opened. */
  async close(): Promise<void> {
    this.stop();
    if (this.#opened !== undefined) await this.#instance.close?.();
  }

  #startTimer(): void {
    this.#timer?.abort();
    const timer = new AbortController();
    this.#timer = timer;
    this.#ctx.clock.sleep(this.settings.maxWaitMs, timer.signal).then(
      () => {
        if (this.#timer === timer && !this.#stopped) {
          this.#timer = undefined;
          this.flushBuffer();
        }
      },
      () => undefined,
    );
  }

  #cut(): void {
    this.#timer?.abort();
    this.#timer = undefined;
    const items = this.#buffer;
    this.#buffer = [];
    this.#bufferBytes = 0;
    this.#ready.push({ items });
    this.#pump();
  }

  #pump(): void {
    while (!this.#stopped && this.#inFlight < this.settings.concurrency && this.#ready.length > 0) {
      const next = this.#ready.shift()!;
      this.#inFlight++;
      this.#send(next.items)
        .catch((error: unknown) => {
          // #send handles every write error itself; reaching here is a bug in a callback.
          this.#logger.error({ err: toError(error) }, 'unexpected error while delivering a batch');
        })
        .finally(() => {
          this.#inFlight--;
          this.#pump();
        });
    }
  }

  /** `pipeline-destination-<position of the first record>`: see {@link Batch.id}. */
  batchId(first: DeliveryItem): string {
    return batchIdAt(this.#batchContext.pipeline, this.name, first.position);
  }

  async #send(initial: DeliveryItem[]): Promise<void> {
    const labels = { pipeline: this.#batchContext.pipeline, destination: this.name };
    const retry = this.settings.retry;
    const baseId = this.batchId(initial[0]!);
    let items = initial;
    let id = baseId;
    for (let attempt = 1; ; attempt++) {
      if (this.#stopped) return;
      const firstRoute = items[0]!.route.name;
      const sameRoute = items.every((i) => i.route.name === firstRoute);
      const batch: Batch = {
        id,
        records: items.map((i) => i.record),
        // Per record, the same on every retry path (see record-key.ts): a partial retry changes
        // the batch id and the records' indexes, never these.
        recordKeys: items.map((i) => recordKey(this.#batchContext.pipeline, this.name, i.position)),
        ...this.#batchContext,
        attempt,
        ...(sameRoute ? { route: firstRoute } : { routes: items.map((i) => i.route.name) }),
      };
      const started = this.#ctx.clock.now();
      let error: Error | undefined;
      try {
        await (this.#opened ??= this.#open());
        await this.#instance.write(batch, { signal: this.#signal });
      } catch (caught) {
        error = toError(caught);
      }
      const seconds = (this.#ctx.clock.now() - started) / 1000;
      if (this.#stopped || this.#signal.aborted) return;
      if (error === undefined) {
        this.#metrics.batchWriteSeconds.observe({ ...labels, outcome: 'ok' }, seconds);
        this.#settle(items, [], attempt);
        return;
      }
      this.#metrics.batchWriteSeconds.observe({ ...labels, outcome: 'error' }, seconds);
      const toRetry: DeliveryItem[] = [];
      const failures: FailedDelivery[] = [];
      const delivered: DeliveryItem[] = [];
      let retryAfterMs: number | undefined;
      const canRetry = attempt < retry.maxAttempts;
      if (error instanceof PartialBatchError) {
        const byIndex = new Map<number, Error>();
        for (const f of error.failures) {
          if (Number.isInteger(f.index) && f.index >= 0 && f.index < items.length)
            byIndex.set(f.index, toError(f.error));
        }
        if (byIndex.size !== error.failures.length) {
          this.#logger.warn(
            { batch: id, failed: error.failed, size: items.length },
            'destination reported failed indexes outside the batch; ignoring them',
          );
        }
        items.forEach((item, index) => {
          const failure = byIndex.get(index);
          if (failure === undefined) delivered.push(item);
          else if (canRetry && isRetryable(failure)) {
            toRetry.push(item);
            if (failure instanceof RetryableError && failure.retryAfterMs !== undefined) {
              retryAfterMs = Math.max(retryAfterMs ?? 0, failure.retryAfterMs);
            }
          } else failures.push({ item, error: failure, attempts: attempt });
        });
      } else if (canRetry && isRetryable(error)) {
        toRetry.push(...items);
        if (error instanceof RetryableError) retryAfterMs = error.retryAfterMs;
      } else {
        for (const item of items) failures.push({ item, error, attempts: attempt });
      }
      this.#settle(delivered, failures, attempt);
      if (toRetry.length === 0) return;
      const delay = backoffDelay(retry, attempt, retryAfterMs, this.#random);
      this.stats.retries++;
      this.#metrics.retries.inc(labels);
      this.#logger.warn(
        {
          batch: id,
          attempt,
          records: toRetry.length,
          delayMs: delay,
          err: { name: error.name, message: error.message },
        },
        'batch write failed; retrying',
      );
      try {
        await this.#ctx.clock.sleep(delay, this.#signal);
      } catch {
        return; // aborted: the records stay unacknowledged
      }
      // A retry of the whole batch keeps its id (idempotency keys stay valid); a retry of some
      // records only is a different batch, so it gets a derived, still deterministic id.
      if (toRetry.length !== items.length) id = `${baseId}-r${attempt + 1}`;
      items = toRetry;
    }
  }

  async #open(): Promise<void> {
    try {
      await this.#instance.open?.();
    } catch (error) {
      this.#opened = undefined;
      throw error;
    }
  }

  #settle(delivered: DeliveryItem[], failures: FailedDelivery[], attempts: number): void {
    if (delivered.length > 0) {
      const labels = { pipeline: this.#batchContext.pipeline, destination: this.name };
      this.stats.delivered += delivered.length;
      this.stats.batches++;
      this.#metrics.batchRecords.observe(labels, delivered.length);
      let oldest = Infinity;
      for (const item of delivered) oldest = Math.min(oldest, item.enqueuedAt);
      this.#metrics.deliverySeconds.observe(labels, (this.#ctx.clock.now() - oldest) / 1000);
      this.#callbacks.delivered(this.name, delivered);
      this.#logger.debug({ records: delivered.length, attempts }, 'batch delivered');
    }
    if (failures.length > 0) this.#callbacks.failed(this.name, failures);
    this.#size -= delivered.length + failures.length;
    this.#wake();
  }

  #wake(): void {
    if (this.#size < this.settings.highWater || this.#stopped) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
    if (this.#size === 0 || this.#stopped) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
