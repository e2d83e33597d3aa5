/**
 * The default bodies of a digest e-mail: a table of the batch's rows, in HTML and plain text.
 * They are ordinary liquid templates over `records` and `columns`.
 *
 * @packageDocumentation
 */

/** Default HTML body of a digest: one table row per record. */
export const DEFAULT_DIGEST_HTML = `<p>{{ count }} record{% if count != 1 %}s{% endif %} from {{ batch.pipeline }}</p>
<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">
<thead><tr>{% for column in columns %}<th>{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>`;

/** Default plain-text body of a digest: a tab-separated table. */
export const DEFAULT_DIGEST_TEXT = `{{ count }} record{% if count != 1 %}s{% endif %} from {{ batch.pipeline }}

{{ columns | join: "\t" }}
{% for row in rows %}{{ row | join: "\t" }}
{% endfor %}`;
