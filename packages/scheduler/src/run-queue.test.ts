import { describe, expect, it } from 'vitest';
import { ownedBossOptions, runSlotKey } from './run-queue.js';

describe('ownedBossOptions', () => {
  it('supervises heartbeats every third of the heartbeat, so a crashed run is taken over after about heartbeatSeconds', () => {
    // Regression: pg-boss's default supervisor interval (60 s) let a killed server's run wait up
    // to 90 s for its take-over with the documented 30 s heartbeat.
    expect(ownedBossOptions({ connectionString: 'postgres://x' }, 30)).toEqual({ useListenNotify: true, superviseIntervalSeconds: 10, connectionString: 'postgres://x' });
    expect(ownedBossOptions({ connectionString: 'postgres://x' }, 10).superviseIntervalSeconds).toBe(3);
  });

  it('keeps what the caller chose', () => {
    expect(ownedBossOptions({ connectionString: 'postgres://x', superviseIntervalSeconds: 1, useListenNotify: false }, 30)).toMatchObject({ superviseIntervalSeconds: 1, useListenNotify: false });
  });
});

describe('runSlotKey', () => {
  it('uses the pipeline as the key when runs must not overlap, else one of n slots', () => {
    expect(runSlotKey('daily', 1, 'r1')).toBe('daily');
    expect(runSlotKey('events', 4, 'r1')).toMatch(/^events#[0-3]$/);
  });
});
