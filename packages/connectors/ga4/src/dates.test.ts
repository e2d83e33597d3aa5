import { describe, expect, it } from 'vitest';
import {
  addDays,
  isGa4Date,
  isTimeZone,
  msUntilMidnight,
  msUntilNextHour,
  resolveGa4Date,
  todayIn,
} from './dates.js';

describe('GA4 dates', () => {
  it('resolves relative dates against today', () => {
    expect(resolveGa4Date('today', '2026-03-01')).toBe('2026-03-01');
    expect(resolveGa4Date('yesterday', '2026-03-01')).toBe('2026-02-28');
    expect(resolveGa4Date('30daysAgo', '2026-03-01')).toBe('2026-01-30');
    expect(resolveGa4Date('2025-12-31', '2026-03-01')).toBe('2025-12-31');
    expect(() => resolveGa4Date('last week', '2026-03-01')).toThrow(/not a date/);
  });

  it('computes today in the property time zone', () => {
    const t = Date.UTC(2026, 10, 25, 3, 0);
    expect(todayIn(t, 'America/Los_Angeles')).toBe('2026-11-24');
    expect(todayIn(t, 'Europe/Berlin')).toBe('2026-11-25');
    expect(msUntilMidnight(t, 'America/Los_Angeles')).toBe(5 * 3_600_000);
    expect(msUntilNextHour(Date.UTC(2026, 0, 1, 10, 59))).toBe(60_000);
  });

  it('validates dates and zones', () => {
    expect(isGa4Date('7daysAgo')).toBe(true);
    expect(isGa4Date('2026-02-30x')).toBe(false);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
  });
});
