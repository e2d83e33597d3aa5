import type { RunRecord } from '@sluice/core';
import type { SluiceServer } from '../runtime/sluice.js';

/** The first pause between two reads of a run, doubled after each read up to {@link MAX_POLL_MS}. */
const FIRST_POLL_MS = 10;
/** The longest pause: a long run is read four times a second. */
const MAX_POLL_MS = 250;

/**
 * Waits until each run has ended (succeeded, failed or cancelled), polling the store, and returns
 * them in order. The pauses start short and grow: a run of a few records ends within tens of
 * milliseconds, and a fixed 250 ms poll made up a tenth of a short `sluice run` (issue 19).
 */
export async function waitForRuns(sluice: SluiceServer, ids: string[]): Promise<RunRecord[]> {
  const done: RunRecord[] = [];
  let pause = FIRST_POLL_MS;
  for (const id of ids) {
    for (;;) {
      const run = await sluice.store.runs.get(id);
      if (run && ['succeeded', 'failed', 'cancelled'].includes(run.status)) {
        done.push(run);
        break;
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
  }
  return done;
}
