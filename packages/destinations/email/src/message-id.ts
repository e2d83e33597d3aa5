/**
 * Message-IDs derived from the mail's identity (sent-ledger.ts `mailKey`: the record key, or the
 * batch id for a digest), so a retried or taken-over send carries the same Message-ID and a mail
 * system (or a person) can recognise the duplicate.
 *
 * @packageDocumentation
 */

/**
 * Builds `<key@domain>`. Characters a Message-ID cannot hold are encoded as `=XX`, so distinct
 * keys stay distinct.
 *
 * @example
 * ```ts
 * messageIdFor('daily-7f3a/0001.3', 'example.com'); // "<daily-7f3a=2F0001.3@example.com>"
 * ```
 */
export function messageIdFor(key: string, domain: string): string {
  const chars = Array.from(key);
  // A dot-atom: dots only between other characters, never two in a row.
  const plainDot = (i: number) => i > 0 && i < chars.length - 1 && chars[i - 1] !== '.';
  const local = chars
    .map((c, i) =>
      c === '.'
        ? plainDot(i)
          ? c
          : encode(c)
        : /[A-Za-z0-9!#$%&'*+\-?^_`{|}~]/.test(c)
          ? c
          : encode(c),
    )
    .join('');
  return `<${local}@${domain}>`;
}

function encode(c: string): string {
  return Array.from(
    Buffer.from(c, 'utf8'),
    (b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('');
}
