import { describe, expect, it } from 'vitest';
import { abandonedQueueName, ownedBossOptions, runSlotKey } from './run-queue.js';

describe('ownedBossOptions', () => {
  it('checks heartbeats every third of the heartbeat, so a crashed run is taken over after about heartbeatSeconds', () => {
    // Regression: pg-boss's default supervisor and monitor intervals (60 s) let a killed server's
    // run wait up to 90 s for its take-over with the documented 30 s heartbeat. The heartbeat
    // check runs in the supervisor's pass, on the queues whose monitor is due: both are needed.
    expect(ownedBossOptions({ connectionString: 'postgres://x' }, 30)).toEqual({
      useListenNotify: true,
      superviseIntervalSeconds: 10,
      monitorIntervalSeconds: 10,
      connectionString: 'postgres://x',
    });
    expect(ownedBossOptions({ connectionString: 'postgres://x' }, 10)).toMatchObject({ superviseIntervalSeconds: 3, monitorIntervalSeconds: 3 });
  });

  it('keeps what the caller chose', () => {
    expect(ownedBossOptions({ connectionString: 'postgres://x', superviseIntervalSeconds: 1, useListenNotify: false }, 30)).toMatchObject({ superviseIntervalSeconds: 1, useListenNotify: false });
  });
});

describe('abandonedQueueName', () => {
  it('names the queue that receives the jobs pg-boss failed for good', () => {
    expect(abandonedQueueName('sluice-runs')).toBe('sluice-runs.abandoned');
  });
});

describe('runSlotKey', () => {
  it('uses the pipeline as the key when runs must not overlap, else one of n slots', () => {
    expect(runSlotKey('daily', 1, 'r1')).toBe('daily');
    expect(runSlotKey('events', 4, 'r1')).toMatch(/^events#[0-3]$/);
  });
});
