import { describe, expect, it } from 'vitest';
import {
  abandonedQueueName,
  ownedBossOptions,
  pipelineQueueName,
  runSlotKey,
  versionPriority,
} from './run-queue.js';

describe('ownedBossOptions', () => {
  it("leaves pg-boss's own LISTEN off: the run queue listens itself and wakes one worker a job", () => {
    expect(ownedBossOptions({}, 30).useListenNotify).toBe(false);
  });

  it('checks heartbeats every third of the heartbeat, so a crashed run is taken over after about heartbeatSeconds', () => {
    // Regression: pg-boss's default supervisor and monitor intervals (60 s) let a killed server's
    // run wait up to 90 s for its take-over with the documented 30 s heartbeat. The heartbeat
    // check runs in the supervisor's pass, on the queues whose monitor is due: both are needed.
    expect(ownedBossOptions({ connectionString: 'postgres://x' }, 30)).toEqual({
      useListenNotify: false,
      superviseIntervalSeconds: 10,
      monitorIntervalSeconds: 10,
      connectionString: 'postgres://x',
    });
    expect(ownedBossOptions({ connectionString: 'postgres://x' }, 10)).toMatchObject({
      superviseIntervalSeconds: 3,
      monitorIntervalSeconds: 3,
    });
  });

  it('keeps what the caller chose', () => {
    expect(
      ownedBossOptions(
        { connectionString: 'postgres://x', superviseIntervalSeconds: 1, useListenNotify: true },
        30,
      ),
    ).toMatchObject({ superviseIntervalSeconds: 1, useListenNotify: true });
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

describe('pipelineQueueName and versionPriority (issue 23, rolling config changes across replicas)', () => {
  it('gives each pipeline a queue of its own, apart from the abandoned-runs queue', () => {
    expect(pipelineQueueName('sluice-runs', 'daily')).toBe('sluice-runs/daily');
    // A pipeline may be called "abandoned": `/` keeps its queue apart from `<queue>.abandoned`.
    expect(pipelineQueueName('sluice-runs', 'abandoned')).not.toBe(
      abandonedQueueName('sluice-runs'),
    );
  });

  it('orders versions so that a worker with version v claims exactly the runs of version v or older', () => {
    expect([
      versionPriority(null),
      versionPriority(undefined),
      versionPriority(1),
      versionPriority(7),
    ]).toEqual([0, 0, -1, -7]);
    // The worker's filter is priority >= -v: runs without a version and older versions pass.
    const claims = (workerVersion: number, runVersion: number | null) =>
      versionPriority(runVersion) >= versionPriority(workerVersion);
    expect(claims(3, 3)).toBe(true);
    expect(claims(3, 2)).toBe(true);
    expect(claims(3, null)).toBe(true);
    expect(claims(3, 4)).toBe(false);
  });
});
