/**
 * The pump of a run: reads pages from a connector, pushes their records into a router, and
 * commits each page's checkpoint only once every record of that page and of every page before
 * it was delivered, dead-lettered or dropped (DESIGN §7, at-least-once).
 *
 * @packageDocumentation
 */
import {
  abortable,
  connectorPages,
  type CheckpointStore,
  type ConnectorInstance,
  type JsonValue,
  type Page,
  type ReadRequest,
} from '@sluice/core';
import { RunAbortedError } from './delivery/errors.js';
import type { Router } from './delivery/router.js';
import type { RouterSummary } from './delivery/summary.js';

/** Options of {@link runPipeline}. */
export interface RunPipelineOptions {
  connector: ConnectorInstance;
  request: ReadRequest;
  router: Router;
  checkpoints: CheckpointStore;
  pipeline: string;
  /** The connector's kind, to name it in errors (e.g. when `read()` returns something else than an async iterable). */
  source?: string;
  /** Stream name under which checkpoints are kept (a connector may read several). */
  stream?: string;
  signal: AbortSignal;
}

/**
 * Runs one pipeline read to the end and returns the router's summary. The router is closed in
 * every case (its destinations too).
 *
 * - Checkpoints are committed in page order, each after its page and all before it are handled.
 * - On abort it stops promptly (no further writes or commits) and rejects with
 *   `RunAbortedError`; the last committed checkpoint stays as it was.
 * - When a route with `onError: 'fail-run'` fails, it rejects with the router's `RunFailedError`.
 * - When the connector fails mid-read, the pages already read are still delivered and their
 *   checkpoints committed before the connector's error is rethrown, carrying the run's counts
 *   as `summary` (see {@link summaryOfFailure}): a run that fails after one page reports that
 *   page as read and delivered.
 *
 * @example
 * ```ts
 * const summary = await runPipeline({
 *   connector, request: { state: await checkpoints.get('daily') }, router, checkpoints,
 *   pipeline: 'daily', signal: run.signal,
 * });
 * ```
 */
export async function runPipeline(options: RunPipelineOptions): Promise<RouterSummary> {
  const { connector, request, router, checkpoints, pipeline, stream, signal, source } = options;
  let commitChain: Promise<void> = Promise.resolve();
  let commitError: unknown;
  let sourceError: unknown;
  let aborted = signal.aborted;

  const onAbort = () => {
    aborted = true;
    router.abort(signal.reason);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  // Waits for `promise` unless the run is aborted first. Not `Promise.race` with one long-lived
  // abort promise: every race leaves a reaction on it that keeps its result (a whole page of
  // records) alive until the run ends, so memory grew with the size of the read.
  const untilAborted = <T>(promise: Promise<T>): Promise<T> =>
    abortable(promise, signal).catch((error: unknown) => {
      throw signal.aborted ? new RunAbortedError(signal.reason) : error;
    });

  const commitAfter = (position: number, state: JsonValue) => {
    commitChain = commitChain.then(async () => {
      if (commitError !== undefined) return;
      try {
        await router.whenAcknowledged({ position });
        if (aborted || router.failure) return;
        await checkpoints.commit(pipeline, state, stream);
      } catch (error) {
        commitError ??= error;
      }
    });
  };

  if (!aborted) {
    // Record keys and batch ids count from the state this run resumed from (see Router.atCheckpoint).
    router.atCheckpoint(request.state);
    let iterator: AsyncIterator<Page> | undefined;
    try {
      // The same check as the contract suite of @sluice/testing: async iterables only.
      iterator = connectorPages(connector.read(request, signal), source)[Symbol.asyncIterator]();
      for (;;) {
        const next: IteratorResult<Page> = await untilAborted(iterator.next());
        if (next.done) break;
        const page = next.value;
        const { position } = await untilAborted(router.push(page.records));
        if (page.state !== undefined) {
          router.atCheckpoint(page.state);
          commitAfter(position, page.state);
        }
        if (commitError !== undefined || router.failure) break;
      }
    } catch (error) {
      // Router failures and aborts are reported below; anything else came from the connector.
      if (!aborted && !router.failure && !(error instanceof RunAbortedError)) sourceError = error;
    } finally {
      // Not awaited: a connector stuck in a request must not hold up an aborted run.
      iterator?.return?.()?.catch(() => undefined);
    }
  }
  if (!aborted && !router.failure) {
    await untilAborted(router.flush()).catch(() => undefined);
    await untilAborted(commitChain).catch(() => undefined);
  }
  signal.removeEventListener('abort', onAbort);
  // close() flushes only when the run neither failed nor was aborted.
  const summary = await router.close();
  const failure = router.failure;
  if (aborted) {
    if (failure instanceof RunAbortedError) {
      failure.summary = summary;
      throw failure;
    }
    throw new RunAbortedError(signal.reason, summary);
  }
  if (failure) {
    failure.summary = summary;
    throw failure;
  }
  if (commitError !== undefined) throw commitError;
  if (sourceError !== undefined) throw withSummary(sourceError, summary);
  return summary;
}

const SUMMARY = 'summary';

function withSummary(error: unknown, summary: RouterSummary): unknown {
  if (
    error !== null &&
    typeof error === 'object' &&
    Object.isExtensible(error) &&
    !Object.hasOwn(error, SUMMARY)
  ) {
    Object.defineProperty(error, SUMMARY, {
      value: summary,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
  return error;
}

/**
 * The counts of a failed run: `runPipeline` rejects with an error that carries the router's
 * summary at the moment of failure (`RunFailedError`, `RunAbortedError`, or the connector's own
 * error). `undefined` when the error carries none.
 *
 * @example
 * ```ts
 * try { await runPipeline(options); }
 * catch (err) { console.log(summaryOfFailure(err)?.records.in); throw err; }
 * ```
 */
export function summaryOfFailure(error: unknown): RouterSummary | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const summary = (error as { summary?: unknown }).summary;
  return summary !== null &&
    typeof summary === 'object' &&
    'records' in summary &&
    'destinations' in summary
    ? (summary as RouterSummary)
    : undefined;
}
