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
  // The default zone of every schedule and path: known without building a formatter, whose
  // first use loads the runtime's time-zone data (~40 ms of a CLI start, issue 19).
  if (zone === 'UTC') return true;
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

/** From 1970 to the year 9999, `toISOString()` starts with the UTC date as `YYYY-MM-DD`. */
const MAX_ISO_DATE_MS = Date.UTC(10_000, 0, 1);

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
  // In UTC the ISO string's date is the answer, without loading the time-zone data.
  if (timeZone === 'UTC' && now >= 0 && now < MAX_ISO_DATE_MS)
    return new Date(now).toISOString().slice(0, 10);
  return dateFormat(timeZone).format(now);
}
