import { describe, expect, it } from 'vitest';
import { cronProblem, isValidTimeZone, knownTimeZones } from './cron.js';

describe('cronProblem', () => {
  it('accepts croner syntax with or without seconds, and nicknames', () => {
    for (const ok of [
      '0 8 * * *',
      '0 0 8 * * *',
      '*/15 * * * * *',
      '@daily',
      '@hourly',
      '@weekly',
      '@monthly',
      '@yearly',
      '@annually',
      '@midnight',
      '0 6 * * MON',
      '0 0 8 * * * 2099',
    ]) {
      expect(cronProblem(ok), ok).toBeUndefined();
    }
  });
  it('explains invalid expressions', () => {
    expect(cronProblem('61 * * * *')).toMatch(
      /^invalid cron expression "61 \* \* \* \*": .*minute/,
    );
    expect(cronProblem('every morning')).toMatch(/^invalid cron expression "every morning": /);
    expect(cronProblem('')).toMatch(/^invalid cron expression/);
  });
  it('rejects expressions that never fire', () => {
    expect(cronProblem('0 0 30 2 *')).toBe('cron expression "0 0 30 2 *" never fires');
  });
});

describe('isValidTimeZone', () => {
  it('accepts IANA names', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('America/New_York')).toBe(true);
  });
  it('rejects unknown names, offsets and blanks', () => {
    expect(isValidTimeZone('Europe/Berlinn')).toBe(false);
    expect(isValidTimeZone('+01:00')).toBe(false);
    expect(isValidTimeZone(' ')).toBe(false);
  });
  it('lists known zones for suggestions', () => {
    expect(knownTimeZones()).toContain('Europe/Berlin');
    expect(knownTimeZones()).toContain('UTC');
  });
});
