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
    dateFormat(zone);
    return true;
  } catch {
    return false;
  }
}

// One formatter per zone: building an Intl.DateTimeFormat costs far more than formatting with
// it, and paths, checks and connectors ask for the same few zones again and again. Only zones
// the runtime accepted are kept (there are a few hundred), so bad input cannot grow the map.
const formats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formats.set(timeZone, format);
  }
  return format;
}

/**
 * The calendar date (`YYYY-MM-DD`) of an instant in an IANA time zone. Throws a RangeError for
 * a zone the runtime does not know (validate it with {@link isValidTimeZone} first).
 *
 * @example
 * ```ts
 * dateInZone(Date.UTC(2026, 10, 24, 23, 30), 'Europe/Berlin');      // "2026-11-25"
 * dateInZone(Date.UTC(2026, 10, 25, 3), 'America/Los_Angeles');     // "2026-11-24"
 * ```
 */
export function dateInZone(now: number, timeZone: string): string {
  return dateFormat(timeZone).format(now);
}
