import type { RunRecord } from '@sluice/core';
import type { SluiceServer } from '../runtime/sluice.js';

/** Waits until each run has ended (succeeded, failed or cancelled), polling the store, and returns them in order. */
export async function waitForRuns(sluice: SluiceServer, ids: string[]): Promise<RunRecord[]> {
  const done: RunRecord[] = [];
  for (const id of ids) {
    for (;;) {
      const run = await sluice.store.runs.get(id);
      if (run && ['succeeded', 'failed', 'cancelled'].includes(run.status)) {
        done.push(run);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return done;
}
