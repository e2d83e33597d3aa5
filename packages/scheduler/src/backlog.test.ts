// The back-pressure bound's view of queued runs (issue 20): counted at most once per maxAgeMs
// while the estimate is under the bound, always counted again before a refusal, one count for
// concurrent triggers.
import { describe, expect, it } from 'vitest';
import { QueuedRunsGauge } from './backlog.js';

describe('QueuedRunsGauge', () => {
  const gaugeOver = (queued: { n: number }, now: { t: number }) => {
    const counts: number[] = [];
    const gauge = new QueuedRunsGauge(
      async () => {
        counts.push(now.t);
        return queued.n;
      },
      1000,
      () => now.t,
    );
    return { gauge, counts };
  };

  it('estimates from the last count plus local enqueues, and counts again once it is old', async () => {
    const queued = { n: 5 };
    const now = { t: 0 };
    const { gauge, counts } = gaugeOver(queued, now);
    expect(await gauge.check('p', 100)).toEqual({ queued: 5, room: true });
    gauge.noteEnqueued('p');
    gauge.noteEnqueued('p');
    now.t = 999;
    expect(await gauge.check('p', 100)).toEqual({ queued: 7, room: true });
    expect(counts).toEqual([0]);
    now.t = 1000;
    queued.n = 2;
    expect(await gauge.check('p', 100)).toEqual({ queued: 2, room: true });
    expect(counts).toEqual([0, 1000]);
  });

  it('refuses only on a fresh count: an estimate at the bound counts again, and may find room', async () => {
    const queued = { n: 1 };
    const now = { t: 0 };
    const { gauge, counts } = gaugeOver(queued, now);
    expect((await gauge.check('p', 2)).room).toBe(true);
    gauge.noteEnqueued('p');
    // Estimate 2 reaches the bound: counted again, and the run that started meanwhile left room.
    queued.n = 1;
    expect(await gauge.check('p', 2)).toEqual({ queued: 1, room: true });
    queued.n = 2;
    gauge.noteEnqueued('p');
    expect(await gauge.check('p', 2)).toEqual({ queued: 2, room: false });
    expect(counts).toHaveLength(3);
  });

  it('shares one count among concurrent checks of a pipeline', async () => {
    const queued = { n: 0 };
    const now = { t: 0 };
    const { gauge, counts } = gaugeOver(queued, now);
    const checks = await Promise.all([
      gauge.check('p', 10),
      gauge.check('p', 10),
      gauge.check('q', 10),
    ]);
    expect(checks.map((c) => c.room)).toEqual([true, true, true]);
    expect(counts).toHaveLength(2);
  });
});
