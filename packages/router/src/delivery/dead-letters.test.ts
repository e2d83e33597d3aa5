import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '@sluice/core';
import { recordingClock } from '../__fixtures__/fakes.js';
import {
  DeadLetterWriter,
  INVALID_RECORD_DESTINATION,
  INVALID_RECORD_ROUTE,
  invalidRecordLetter,
  type DeadLetterWriterOptions,
  type PendingLetter,
} from './dead-letters.js';

const letter = (n: number): PendingLetter => ({
  seq: n,
  letter: {
    pipeline: 'p',
    runId: 'r',
    route: 'all',
    destination: 'db',
    record: { n },
    error: { name: 'FatalError', message: 'x' },
    attempts: 1,
    failedAt: '2026-01-01T00:00:00.000Z',
  },
});

function writer(
  sink: (letters: DeadLetter[]) => Promise<void>,
  extra: Partial<DeadLetterWriterOptions> = {},
) {
  const clock = recordingClock();
  const written: [number[], string][] = [];
  const rejected: [string, number][] = [];
  const controller = new AbortController();
  const w = new DeadLetterWriter({
    sink: { write: (letters) => sink([...letters]) },
    clock,
    signal: controller.signal,
    random: () => 0.5,
    highWater: 2,
    stopped: () => false,
    written: (letters, stage) => void written.push([letters.map((l) => l.seq), stage]),
    rejected: (error, count) => void rejected.push([(error as Error).message, count]),
    ...extra,
  });
  return { w, clock, written, rejected, controller };
}

describe('DeadLetterWriter', () => {
  it('writes in order, one sink call at a time, and reports what the sink took', async () => {
    const calls: number[][] = [];
    let inFlight = 0;
    const { w, written } = writer(async (letters) => {
      inFlight++;
      expect(inFlight).toBe(1);
      await new Promise((r) => setTimeout(r, 1));
      calls.push(letters.map((l) => l.record.n as number));
      inFlight--;
    });
    w.write([letter(1), letter(2)], 'route');
    expect(w.backlogged).toBe(true);
    w.write([letter(3)], 'delivery');
    await w.settled();
    expect(calls).toEqual([[1, 2], [3]]);
    expect(written).toEqual([
      [[1, 2], 'route'],
      [[3], 'delivery'],
    ]);
    expect(w.backlogged).toBe(false);
  });

  it("retries a failing sink with core's backoff (3 tries, full jitter below 200 then 400 ms), then reports the refusal", async () => {
    let tries = 0;
    const { w, clock, written, rejected } = writer(async () => {
      tries++;
      throw new Error('store down');
    });
    w.write([letter(1)], 'delivery');
    await w.settled();
    expect(tries).toBe(3);
    expect(clock.sleeps).toEqual([100, 200]);
    expect(written).toEqual([]);
    expect(rejected).toEqual([['store down', 1]]);
    expect(w.backlogged).toBe(false);
  });

  it('succeeds on a later try', async () => {
    let tries = 0;
    const { w, written, rejected } = writer(async () => {
      if (++tries < 2) throw new Error('blip');
    });
    w.write([letter(1)], 'route');
    await w.settled();
    expect(written).toEqual([[[1], 'route']]);
    expect(rejected).toEqual([]);
  });

  it('stops waiting between tries once the run stops, and writes nothing after it stopped', async () => {
    let stopped = false;
    let tries = 0;
    const { w, controller, written, rejected } = writer(
      async () => {
        tries++;
        stopped = true;
        controller.abort(new Error('aborted'));
        throw new Error('store down');
      },
      { stopped: () => stopped },
    );
    w.write([letter(1)], 'delivery');
    w.write([letter(2)], 'delivery');
    await w.settled();
    expect(tries).toBe(1);
    expect(written).toEqual([]);
    expect(rejected).toEqual([]);
  });
});

describe('invalidRecordLetter', () => {
  it('names the connector, the page and the index, and keeps a JSON copy of the value', () => {
    const letter = invalidRecordLetter(
      { pipeline: 'p', runId: 'r', source: 'csv', clock: { now: () => 0, sleep: async () => {} } },
      'text',
      2,
      5,
    );
    expect(letter).toEqual({
      pipeline: 'p',
      runId: 'r',
      route: INVALID_RECORD_ROUTE,
      destination: INVALID_RECORD_DESTINATION,
      record: { invalidRecord: 'text', type: 'a string "text"' },
      original: { invalidRecord: 'text', type: 'a string "text"' },
      error: {
        name: 'FatalError',
        message:
          'connector "csv" page 2, record #5: not a plain JSON object (a string "text"); a connector must yield records as plain objects',
        code: 'SLUICE_ERR_INVALID_RECORD',
      },
      attempts: 0,
      failedAt: '1970-01-01T00:00:00.000Z',
    });
  });
});
