/**
 * Escaping of values inserted into HTML bodies, so a record value cannot inject markup.
 *
 * @packageDocumentation
 */

/**
 * Escapes a template output value for HTML (objects as JSON, null as empty).
 *
 * @example
 * ```ts
 * escapeHtml('<b>"Tom" & Jerry</b>'); // "&lt;b&gt;&quot;Tom&quot; &amp; Jerry&lt;/b&gt;"
 * ```
 */
export function escapeHtml(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
