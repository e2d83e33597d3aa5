// Test doubles shared by the delivery tests: scriptable destinations, a dead-letter sink, an
// in-memory checkpoint store and connector, and a clock that records sleeps.
import type {
  Batch,
  CheckpointStore,
  Clock,
  ConnectorInstance,
  DeadLetter,
  DeadLetterSink,
  DestinationInstance,
  JsonValue,
  Page,
  SluiceRecord,
} from '@sluice/core';

/** A destination that records every call and fails as `behaviour` decides. */
export function recordingDestination(
  behaviour: (batch: Batch, call: number) => void | Promise<void> = () => undefined,
): DestinationInstance & {
  calls: Batch[];
  written: SluiceRecord[];
  opened: number;
  closed: number;
} {
  const calls: Batch[] = [];
  const written: SluiceRecord[] = [];
  const self = {
    calls,
    written,
    opened: 0,
    closed: 0,
    async open() {
      self.opened++;
    },
    async write(batch: Batch) {
      calls.push(batch);
      await behaviour(batch, calls.length);
      written.push(...batch.records);
    },
    async close() {
      self.closed++;
    },
  };
  return self;
}

export function memoryDeadLetters(): DeadLetterSink & { letters: DeadLetter[] } {
  const letters: DeadLetter[] = [];
  return {
    letters,
    async write(batch) {
      letters.push(...batch);
    },
  };
}

export function memoryCheckpoints(): CheckpointStore & { commits: JsonValue[] } {
  const commits: JsonValue[] = [];
  return {
    commits,
    async get() {
      return commits.at(-1);
    },
    async commit(_pipeline, state) {
      commits.push(state);
    },
  };
}

export function memoryConnector(
  pages: Page[],
  options: { failAfter?: number; delayMs?: number } = {},
): ConnectorInstance {
  return {
    async *read(_request, signal) {
      let i = 0;
      for (const page of pages) {
        if (options.failAfter !== undefined && i === options.failAfter)
          throw new Error('source went away');
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        if (signal.aborted) return;
        i++;
        yield page;
      }
    },
  };
}

/** A clock whose sleeps take (almost) no time but are recorded; sleeps of a minute or more last until aborted. */
export function recordingClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => Date.now(),
    sleep(ms, signal) {
      sleeps.push(ms);
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const timer = ms >= 60_000 ? undefined : setTimeout(resolve, 0);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    },
  };
}

export const tick = () => new Promise((r) => setTimeout(r, 5));
