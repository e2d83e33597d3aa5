/**
 * The output escapes of the one template engine, one per context a rendered value lands in:
 * a URL component, one path segment, HTML, or plain text. Each is an {@link OutputEscape}: it is
 * applied to every `{{ output }}` (never to the template's own literal text), so a record value
 * cannot change the structure around it.
 *
 * @packageDocumentation
 */
import type { OutputEscape } from './engine.js';

/** The contexts a rendered value can land in, each with its escape in {@link TEMPLATE_ESCAPES}. */
export type TemplateEscapeContext = 'url' | 'path-segment' | 'html' | 'none';

const text = (value: unknown): string =>
  value === null || value === undefined
    ? ''
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);

/**
 * Escapes a value for HTML (objects as JSON, null as empty).
 *
 * @example
 * ```ts
 * escapeHtml('<b>"Tom" & Jerry</b>'); // "&lt;b&gt;&quot;Tom&quot; &amp; Jerry&lt;/b&gt;"
 * ```
 */
export function escapeHtml(value: unknown): string {
  return text(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Escapes a value as one URL component (`encodeURIComponent`): `/`, `?`, `#`, `@` and `:` are
 * encoded, so a value cannot add a path segment, a query, a fragment or another host.
 *
 * @example
 * ```ts
 * escapeUrlComponent('../admin?x=@evil.com#'); // "..%2Fadmin%3Fx%3D%40evil.com%23"
 * ```
 */
export function escapeUrlComponent(value: unknown): string {
  return encodeURIComponent(text(value));
}

/**
 * Turns a value into one safe path segment: letters, digits and `. _ - = + @ ,` are kept;
 * everything else (slashes, backslashes, control characters, spaces) becomes `_`, a leading dot
 * becomes `_` (so `..` and hidden files are impossible), and it is cut at 120 characters.
 *
 * @example
 * ```ts
 * escapePathSegment('../etc/passwd'); // "_._etc_passwd"
 * escapePathSegment('Zürich 1');      // "Zürich_1"
 * ```
 */
export function escapePathSegment(value: unknown): string {
  return text(value)
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._=+@,-]/gu, '_')
    .replace(/^\./, '_')
    .slice(0, 120);
}

/**
 * Inserts a value as it is (objects as JSON, null as empty): for contexts with no syntax to
 * protect, such as a header value (line breaks are checked by the caller) or plain text.
 *
 * @example
 * ```ts
 * escapeNone({ a: 1 }); // '{"a":1}'
 * ```
 */
export function escapeNone(value: unknown): string {
  return text(value);
}

/**
 * The escape of each {@link TemplateEscapeContext}, to pass as `escape` to `compileTemplate`.
 *
 * @example
 * ```ts
 * compileTemplate('url', 'https://h.example/t/{{ record.tenant }}', TEMPLATE_ESCAPES.url);
 * ```
 */
export const TEMPLATE_ESCAPES: Readonly<Record<TemplateEscapeContext, OutputEscape>> =
  Object.freeze({
    url: escapeUrlComponent,
    'path-segment': escapePathSegment,
    html: escapeHtml,
    none: escapeNone,
  });
