/**
 * Polling helpers for this package's asynchronous tests. Not exported from the package.
 *
 * @packageDocumentation
 */
import type { RunRecord, RunStore } from '@sluice/core';

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, or fails after `timeoutMs`.
 *
 * @example
 * ```ts
 * const run = await waitFor(async () => { const r = await runs.get(id); return r?.status === 'succeeded' && r; });
 * ```
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  {
    timeoutMs = 20_000,
    intervalMs = 100,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      // Fault tests probe while connections are being killed: a failed probe is retried.
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}`,
        lastError === undefined ? undefined : { cause: lastError },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Resolves after `ms`.
 *
 * @example
 * ```ts
 * await sleep(100);
 * ```
 */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until run `id` has ended (succeeded, failed or cancelled) and resolves its record.
 *
 * @example
 * ```ts
 * const run = await runEnded(store.runs, runId);
 * ```
 */
export function runEnded(
  runs: Pick<RunStore, 'get'>,
  id: string,
  timeoutMs = 30_000,
): Promise<RunRecord> {
  return waitFor(
    async () => {
      const run = await runs.get(id);
      return run &&
        (run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled')
        ? run
        : undefined;
    },
    { timeoutMs, what: `run ${id} to finish` },
  );
}
