/**
 * E-mail address checks for config (static addresses) and for addresses rendered from records.
 * Deliberately strict: a plain `local@domain.tld`, optionally with a display name
 * (`Ops Team <ops@example.com>`), and never a line break (header injection).
 *
 * @packageDocumentation
 */

const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const NAMED = /^\s*(?:"([^"\r\n]*)"|([^<>"\r\n,;]*?))\s*<([^<>\s]+)>\s*$/;

/** One parsed mailbox. */
export interface Mailbox {
  name?: string;
  address: string;
}

/**
 * Parses one mailbox (`a@b.c` or `Name <a@b.c>`); returns the problem as a string when invalid.
 *
 * @example
 * ```ts
 * parseMailbox('Ops <ops@example.com>'); // { name: 'Ops', address: 'ops@example.com' }
 * parseMailbox('not an address');        // "\"not an address\" is not an e-mail address"
 * ```
 */
export function parseMailbox(text: string): Mailbox | string {
  if (/[\r\n]/.test(text)) return `${JSON.stringify(text)} contains a line break`;
  const trimmed = text.trim();
  const named = NAMED.exec(trimmed);
  const address = named ? named[3]! : trimmed;
  if (address.length > 254 || !ADDRESS.test(address) || address.split('@')[0]!.length > 64) {
    return `${JSON.stringify(text)} is not an e-mail address`;
  }
  const name = named ? (named[1] ?? named[2] ?? '').trim() : '';
  return name === '' ? { address } : { name, address };
}

/**
 * Parses a list of mailboxes separated by `,` or `;` (what a record field may hold). Returns the
 * mailboxes, or the problems.
 *
 * @example
 * ```ts
 * parseMailboxList('a@example.com, b@example.com'); // { mailboxes: [{ address: 'a@example.com' }, { address: 'b@example.com' }] }
 * ```
 */
export function parseMailboxList(text: string): { mailboxes: Mailbox[] } | { problems: string[] } {
  const mailboxes: Mailbox[] = [];
  const problems: string[] = [];
  // Split on separators outside quoted display names.
  const parts = text.match(/(?:"[^"]*"|[^,;])+/g) ?? [];
  for (const part of parts) {
    if (part.trim() === '') continue;
    const parsed = parseMailbox(part);
    if (typeof parsed === 'string') problems.push(parsed);
    else mailboxes.push(parsed);
  }
  return problems.length > 0 ? { problems } : { mailboxes };
}

/**
 * Formats a mailbox for nodemailer's address fields.
 *
 * @example
 * ```ts
 * formatMailbox({ name: 'Ops', address: 'ops@example.com' }); // { name: 'Ops', address: 'ops@example.com' }
 * ```
 */
export function formatMailbox(mailbox: Mailbox): { name: string; address: string } {
  return { name: mailbox.name ?? '', address: mailbox.address };
}
