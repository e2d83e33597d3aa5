/**
 * Message-IDs derived from the batch identity, so a retried send carries the same Message-ID
 * and a mail system (or a person) can recognise the duplicate.
 *
 * @packageDocumentation
 */

/**
 * Builds `<batch-id.index@domain>` (`digest` instead of the index for a digest). Characters
 * a Message-ID cannot hold are encoded as `=XX`, so distinct batch ids stay distinct.
 *
 * @example
 * ```ts
 * messageIdFor('daily-7f3a/0001', 3, 'example.com'); // "<daily-7f3a=2F0001.3@example.com>"
 * ```
 */
export function messageIdFor(batchId: string, index: number | 'digest', domain: string): string {
  const local = Array.from(batchId, (c) => (/[A-Za-z0-9!#$%&'*+\-/?^_`{|}~]/.test(c) && c !== '/' && c !== '=' ? c : encode(c))).join('');
  return `<${local}.${index}@${domain}>`;
}

function encode(c: string): string {
  return Array.from(Buffer.from(c, 'utf8'), (b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}
