// The fenced code blocks of a Markdown page, with the page's markers for test/outside (issue 17).
// Same extraction as test/examples/markdown-blocks.ts (opening fence with a language, closing
// fence of the same character and at least its length, body dedented by the fence's indent),
// for every language, and with every HTML comment on the lines right before the fence.
//
// Markers (HTML comments, so they do not show on the rendered page), on the lines right before a fence:
//   <!-- not-runnable: <reason> -->   a ```ts/```js block that the outside check does not run;
//                                     the reason is printed. Only for what cannot run here (a
//                                     real SaaS account), and few.
//   <!-- example-file: <name> -->     the block is a file the page's runnable blocks read
//                                     (e.g. sluice.yaml): written to <name> in each example's folder.
//   <!-- example-env: A=1 B=2 -->     environment variables the block's code (or its files) reads,
//                                     as a user would export them.
//   <!-- example-serves -->           the block starts a server and runs until stopped: it passes
//                                     when it prints a first line and is still running shortly
//                                     after; then it gets SIGTERM.
// Every other ```ts / ```typescript / ```js / ```mjs block is runnable as written.

const OPENING = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/;
const MARKER = /^<!--\s*([a-z-]+)(?::\s*(.*?))?\s*-->$/;

/** Languages of the blocks the outside check runs. */
export const RUNNABLE_LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);

/**
 * The fenced blocks of a page, in order: `{ file, line, lang, text, markers }`, `markers` mapping
 * each marker name before the fence to its value (`''` for a marker without one).
 *
 * @example
 * codeBlocks('<!-- not-runnable: needs a token -->\n```ts\nx()\n```\n', 'README.md');
 * // [{ file: 'README.md', line: 2, lang: 'ts', text: 'x()\n', markers: { 'not-runnable': 'needs a token' } }]
 */
export function codeBlocks(markdown, file) {
  const lines = markdown.split(/\r?\n/);
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPENING.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const fence = open[2];
    const closing = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !closing.test(lines[j]); j++)
      body.push(lines[j].slice(Math.min(indent, lines[j].length - lines[j].trimStart().length)));
    const markers = {};
    for (let k = i - 1; k >= 0; k--) {
      const text = lines[k].trim();
      if (text === '') continue;
      const marker = MARKER.exec(text);
      if (!marker) break;
      markers[marker[1]] = marker[2] ?? '';
    }
    blocks.push({
      file,
      line: i + 1,
      lang: open[3].toLowerCase(),
      text: body.length > 0 ? `${body.join('\n')}\n` : '',
      markers,
    });
    i = j;
  }
  return blocks;
}
