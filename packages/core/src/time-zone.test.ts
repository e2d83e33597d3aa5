import { describe, expect, it } from 'vitest';
import { isValidTimeZone } from './time-zone.js';

describe('isValidTimeZone', () => {
  it('accepts IANA zones and refuses offsets, blanks and unknown names', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isValidTimeZone('Europe/Berlinn')).toBe(false);
    expect(isValidTimeZone('+02:00')).toBe(false);
    expect(isValidTimeZone('-05:00')).toBe(false);
    expect(isValidTimeZone(' ')).toBe(false);
    expect(isValidTimeZone(undefined as unknown as string)).toBe(false);
  });
});
