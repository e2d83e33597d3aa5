// Markdown helpers shared by the generated pages. Every value that comes from a schema or an
// example goes through here, so table cells never break (pipes, newlines) and VitePress never
// reads `{{ ... }}` in a value as a Vue interpolation.
import { stringify } from 'yaml';

/**
 * An inline code span holding `text`, with a fence longer than any backtick run inside it.
 *
 * @param {string} text
 * @returns {string}
 */
export function code(text) {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * A value as one line of YAML flow syntax (`8080`, `[date, channel]`, `{ maxRecords: 1000 }`).
 *
 * @param {unknown} value
 * @returns {string}
 */
export function yamlInline(value) {
  if (value === undefined) return '';
  return stringify(value, {
    collectionStyle: 'flow',
    lineWidth: 0,
    flowCollectionPadding: true,
  }).trim();
}

/**
 * Makes prose from a schema description safe for a table cell: one line, and
 * angle brackets outside code spans escaped so `<name>` is shown rather than parsed as HTML.
 *
 * @param {string | undefined} text
 * @returns {string}
 */
export function cell(text) {
  if (text === undefined || text === '') return '';
  const oneLine = text.replace(/\s*\n\s*/g, ' ').trim();
  // Split on code spans: only the prose between them needs HTML escaping.
  return oneLine
    .split(/(`+[^`]*?`+)/g)
    .map((part, index) =>
      index % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;'),
    )
    .join('');
}

/**
 * A GitHub-flavoured markdown table.
 *
 * @param {string[]} header
 * @param {string[][]} rows
 * @returns {string}
 */
export function table(header, rows) {
  // A pipe inside a cell, even inside a code span, ends the cell unless escaped.
  const line = (/** @type {string[]} */ cells) =>
    `| ${cells.map((c) => (c === '' ? ' ' : c.replace(/\|/g, '\\|'))).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Wraps markdown in a VitePress `v-pre` container so template syntax in values (Liquid
 * `{{ run.date }}`) is shown literally instead of being compiled by Vue.
 *
 * @param {string} markdown
 * @returns {string}
 */
export function verbatim(markdown) {
  return `::: v-pre\n${markdown}\n:::`;
}
