/** What Sluice prints in place of a secret. */
export const REDACTED = '[redacted]';

/**
 * Replaces every occurrence of the given secret values in strings, deep inside objects and
 * arrays. Used for logs, error messages and API output so a secret resolved from
 * `${env:...}` never leaks, even when a library echoes it back in an error.
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
  const list = [...new Set(secrets)]
    .filter((s) => s.length >= 3)
    .sort((a, b) => b.length - a.length);
  const redactString = (text: string) => {
    let out = text;
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
  const walk = (value: unknown, seen: WeakSet<object>): unknown => {
    if (typeof value === 'string') return redactString(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value)) return value.map((item) => walk(item, seen));
    if (value instanceof Error) {
      const copy = new Error(redactString(value.message));
      copy.name = value.name;
      return copy;
    }
    return Object.fromEntries(Object.entries(value).map(([k, item]) => [k, walk(item, seen)]));
  };
  return <T>(value: T): T => (list.length === 0 ? value : (walk(value, new WeakSet()) as T));
}
