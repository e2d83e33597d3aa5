// The README extraction test/outside runs examples with (lib/code-blocks.mjs): fences, dedent and
// the markers a page puts before a block.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeBlocks, RUNNABLE_LANGUAGES } from './lib/code-blocks.mjs';
import { readmeFiles } from './lib/readme-examples.mjs';

const root = join(import.meta.dirname, '../..');

describe('codeBlocks', () => {
  it('finds fenced blocks with their language, line, dedented text and markers', () => {
    const markdown = [
      '# Page',
      '',
      '<!-- not-runnable: needs an account -->',
      '```ts',
      'run();',
      '```',
      '',
      '<!-- example-file: sluice.yaml -->',
      '',
      '```yaml',
      'a: 1',
      '```',
      '- item',
      '  ~~~~js',
      '  x();',
      '  ~~~~',
      '```',
      'plain',
      '```',
    ].join('\n');
    expect(codeBlocks(markdown, 'README.md')).toEqual([
      {
        file: 'README.md',
        line: 4,
        lang: 'ts',
        text: 'run();\n',
        markers: { 'not-runnable': 'needs an account' },
      },
      {
        file: 'README.md',
        line: 10,
        lang: 'yaml',
        text: 'a: 1\n',
        markers: { 'example-file': 'sluice.yaml' },
      },
      { file: 'README.md', line: 14, lang: 'js', text: 'x();\n', markers: {} },
      { file: 'README.md', line: 17, lang: '', text: 'plain\n', markers: {} },
    ]);
  });

  it('reads several markers, a marker without a value, and stops at the first non-comment line', () => {
    const markdown =
      'text\n<!-- example-env: A=1 B=2 -->\n<!-- example-serves -->\n```ts\nx\n```\n';
    expect(codeBlocks(markdown, 'R.md')[0]!.markers).toEqual({
      'example-env': 'A=1 B=2',
      'example-serves': '',
    });
    expect(
      codeBlocks('<!-- not-runnable: x -->\ntext\n```ts\nx\n```\n', 'R.md')[0]!.markers,
    ).toEqual({});
  });

  it('finds runnable examples in the root README and every package README', () => {
    const files = readmeFiles(root);
    expect(files).toContain('README.md');
    expect(files).toContain('apps/server/README.md');
    expect(files).toContain('packages/testing/README.md');
    const runnable = files
      .flatMap((file) => codeBlocks(readFileSync(join(root, file), 'utf8'), file))
      .filter((b) => RUNNABLE_LANGUAGES.has(b.lang));
    expect(runnable.length).toBeGreaterThan(20);
    for (const block of runnable.filter((b) => 'not-runnable' in b.markers))
      expect(block.markers['not-runnable'], `${block.file}:${block.line}`).not.toBe('');
  });
});
