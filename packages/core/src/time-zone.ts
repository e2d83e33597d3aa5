/**
 * Tells whether `zone` is an IANA time zone this runtime knows (`Europe/Berlin`, `UTC`). Offsets
 * such as `+02:00` are refused: they ignore daylight-saving time, which schedules and dates in
 * Sluice must follow.
 *
 * @example
 * ```ts
 * isValidTimeZone('Europe/Berlin'); // true
 * isValidTimeZone('Europe/Berlinn'); // false
 * isValidTimeZone('+02:00');        // false
 * ```
 */
export function isValidTimeZone(zone: string): boolean {
  if (typeof zone !== 'string' || zone.trim() === '' || /^[+-]/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
