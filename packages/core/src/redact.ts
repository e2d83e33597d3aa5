/** What Sluice prints in place of a secret. */
export const REDACTED = '[redacted]';

/** What the redactor puts where a value contains itself. */
const CIRCULAR = '[circular]';

/**
 * The forms a secret takes in text: as written, as it appears inside a JSON string (quotes,
 * backslashes, newlines and control characters escaped), which is how libraries and validation
 * messages often quote a value, and percent-encoded, as in a URL a driver or router echoes.
 */
function formsOf(secret: string): string[] {
  return [...new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])];
}

/**
 * Replaces every occurrence of the given secret values in strings, deep inside objects and
 * arrays. Used for logs, error messages and API output so a secret resolved from
 * `${env:...}` never leaks, even when a library echoes it back in an error. A secret is also
 * found in its JSON-escaped form (a value with quotes or newlines quoted by `JSON.stringify`)
 * and percent-encoded (in a URL).
 * Objects that appear in several places (the same record in two lists) are redacted in every
 * place; a value that contains itself is cut at the repetition. Dates are kept; other objects
 * with `toJSON` are redacted in the form JSON would give them; an error becomes a redacted copy
 * with its name, stack, own fields (`code`, `details`) and `cause`.
 *
 * @example
 * ```ts
 * const redact = createRedactor(['s3cr3t']);
 * redact('token=s3cr3t');            // "token=[redacted]"
 * redact({ headers: { auth: 's3cr3t' } }); // { headers: { auth: '[redacted]' } }
 * ```
 */
export function createRedactor(secrets: Iterable<string>): <T>(value: T) => T {
  // Longest first, so a secret that contains another one is replaced whole.
  const list = [...new Set([...secrets].filter((s) => s.length >= 3).flatMap(formsOf))].sort(
    (a, b) => b.length - a.length,
  );
  const redactString = (text: string) => {
    let out = text;
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
  // Only the objects on the current path: a shared object is walked again where it reappears
  // (returning it as it was would let its secrets through), a cyclic one is cut.
  const walk = (value: unknown, ancestors: Set<object>): unknown => {
    if (typeof value === 'string') return redactString(value);
    if (value === null || typeof value !== 'object') return value;
    if (value instanceof Date) return value;
    if (ancestors.has(value)) return CIRCULAR;
    ancestors.add(value);
    try {
      if (Array.isArray(value)) return value.map((item) => walk(item, ancestors));
      if (value instanceof Error) {
        // A copy that keeps what logs need (name, stack, code, details, cause), each redacted.
        const copy = new Error(redactString(value.message)) as Error & Record<string, unknown>;
        copy.name = value.name;
        copy.stack = value.stack === undefined ? undefined : redactString(value.stack);
        for (const [k, item] of Object.entries(value)) copy[k] = walk(item, ancestors);
        if (value.cause !== undefined) copy.cause = walk(value.cause, ancestors);
        return copy;
      }
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return walk(toJSON.call(value), ancestors);
      return Object.fromEntries(
        Object.entries(value).map(([k, item]) => [redactString(k), walk(item, ancestors)]),
      );
    } finally {
      ancestors.delete(value);
    }
  };
  return <T>(value: T): T => (list.length === 0 ? value : (walk(value, new Set()) as T));
}
