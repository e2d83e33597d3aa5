/**
 * Escaping of values inserted by templates. Slack reads `<...>` as links and mentions
 * (`<!channel>`, `<@U123>`) and `&` as the start of an entity, so a record value is escaped the
 * way Slack asks (`&amp;`, `&lt;`, `&gt;`) and cannot ping a whole channel. Block Kit templates
 * render to JSON, so there values are additionally escaped for a JSON string.
 *
 * @packageDocumentation
 */

/** Turns a template output value into text (objects as JSON, null as empty). */
function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Escapes a value for Slack `mrkdwn` text.
 *
 * @example
 * ```ts
 * escapeSlackText('<!channel> & co'); // "&lt;!channel&gt; &amp; co"
 * ```
 */
export function escapeSlackText(value: unknown): string {
  return asText(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Escapes a value for the inside of a JSON string in a Block Kit template (after Slack escaping).
 *
 * @example
 * ```ts
 * escapeBlockKitString('say "hi"\n<now>'); // 'say \\"hi\\"\\n&lt;now&gt;'
 * ```
 */
export function escapeBlockKitString(value: unknown): string {
  return JSON.stringify(escapeSlackText(value)).slice(1, -1);
}
