// Finds the fenced ```yaml blocks of a markdown page, with where they start and whether the page
// marks them as intentionally partial (`<!-- config-fragment: partial -->` on the line before).

/** The marker a page puts on the line right before a YAML block that is not a whole fragment. */
export const PARTIAL_MARKER = '<!-- config-fragment: partial -->';

/** One fenced YAML block of a markdown page. */
export interface YamlBlock {
  /** Repository-relative path of the page. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The block's text, dedented by the fence's indentation. */
  text: string;
  /** The page marked the block with {@link PARTIAL_MARKER}. */
  partial: boolean;
}

const OPENING = /^(\s*)(`{3,}|~{3,})\s*(yaml|yml)\b/i;

/**
 * The ```yaml / ```yml blocks of a markdown text, in order.
 *
 * @example
 * ```ts
 * yamlBlocks('```yaml\na: 1\n```\n', 'README.md'); // [{ file: 'README.md', line: 1, text: 'a: 1\n', partial: false }]
 * ```
 */
export function yamlBlocks(markdown: string, file: string): YamlBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: YamlBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPENING.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const fence = open[2]!;
    const closing = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !closing.test(lines[j]!); j++)
      body.push(lines[j]!.slice(Math.min(indent, leadingSpaces(lines[j]!))));
    let previous = i - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous--;
    blocks.push({
      file,
      line: i + 1,
      text: body.length > 0 ? `${body.join('\n')}\n` : '',
      partial: previous >= 0 && lines[previous]!.trim() === PARTIAL_MARKER,
    });
    i = j;
  }
  return blocks;
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}
