import { describe, expect, it } from 'vitest';
import { dateInZone, isValidTimeZone } from './time-zone.js';

describe('isValidTimeZone', () => {
  it('accepts IANA zones and refuses offsets, blanks and unknown names', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isValidTimeZone('Europe/Berlinn')).toBe(false);
    // Refused twice: a refusal is not remembered as a zone.
    expect(isValidTimeZone('Europe/Berlinn')).toBe(false);
    expect(isValidTimeZone('+02:00')).toBe(false);
    expect(isValidTimeZone('-05:00')).toBe(false);
    expect(isValidTimeZone(' ')).toBe(false);
    expect(isValidTimeZone(undefined as unknown as string)).toBe(false);
  });
});

describe('dateInZone', () => {
  it('gives the calendar date of an instant in the zone, across midnight and DST changes', () => {
    const late = Date.UTC(2026, 10, 24, 23, 30);
    expect(dateInZone(late, 'UTC')).toBe('2026-11-24');
    expect(dateInZone(late, 'Europe/Berlin')).toBe('2026-11-25');
    expect(dateInZone(Date.UTC(2026, 10, 25, 3), 'America/Los_Angeles')).toBe('2026-11-24');
    // Europe/Berlin leaves summer time at 01:00 UTC on 2026-10-25.
    expect(dateInZone(Date.UTC(2026, 9, 24, 22, 30), 'Europe/Berlin')).toBe('2026-10-25');
    expect(dateInZone(Date.UTC(2026, 9, 25, 22, 30), 'Europe/Berlin')).toBe('2026-10-25');
    expect(dateInZone(Date.UTC(2026, 9, 25, 23, 30), 'Europe/Berlin')).toBe('2026-10-26');
  });

  it('gives in UTC the date Intl gives, from 1970 to the last instant of 9999', () => {
    const intl = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'UTC',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    const instants = [0, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59)];
    for (const at of [...instants, Date.UTC(10_000, 0, 1), -1])
      expect(dateInZone(at, 'UTC')).toBe(intl.format(at));
  });

  it('throws a RangeError for a zone the runtime does not know', () => {
    expect(() => dateInZone(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});
