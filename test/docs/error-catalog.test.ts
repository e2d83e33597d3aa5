// The error catalog of @sluice/core is the one place a SLUICE_ERR_* code is written: every
// thrower takes its code from it, and the "Error codes" section of docs/troubleshooting.md is
// generated from it (test/docs/generated.test.ts checks that the page is current).
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { errorCatalog, errorDefinitions } from '@sluice/core';
import {
  ERRORS_END,
  ERRORS_START,
  renderErrorSection,
  renderTroubleshootingPage,
} from '../../tools/docs/lib/render-errors.mjs';

const root = resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return ['node_modules', 'dist', '__fixtures__', 'testing'].includes(entry.name)
        ? []
        : sourceFiles(path);
    return entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.test-d.ts')
      ? [path]
      : [];
  });
}

/** Every `src/` folder of the workspace packages and apps. */
function sourceRoots(): string[] {
  const roots: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === 'node_modules') continue;
      if (entry.name === 'src') roots.push(join(dir, entry.name));
      else if (depth > 0) walk(join(dir, entry.name), depth - 1);
    }
  };
  walk(join(root, 'packages'), 2);
  walk(join(root, 'apps'), 1);
  return roots;
}

/** String literals (and template parts) holding a code, `SLUICE_ERR_` followed by a letter or built with `${...}`: comments and types do not count. */
function codeLiterals(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    // Types (`SLUICE_ERR_${string}`) name the shape of a code, not a code.
    if (ts.isTypeNode(node)) return;
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) {
      if (/SLUICE_ERR_[A-Z]/.test(node.text) || /SLUICE_ERR_\$\{/.test(node.getText())) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        found.push(`${relative(root, file)}:${line + 1}: ${node.getText().slice(0, 80)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the error catalog', () => {
  it('is the only source file that writes a SLUICE_ERR_* code', () => {
    const catalog = join(root, 'packages/core/src/error-catalog.ts');
    const roots = sourceRoots();
    expect(roots).toEqual(
      expect.arrayContaining([
        join(root, 'packages/core/src'),
        join(root, 'apps/server/src'),
        join(root, 'packages/store/src'),
      ]),
    );
    const files = roots.flatMap(sourceFiles);
    expect(files).toContain(catalog);
    expect(codeLiterals(catalog).length).toBe(errorDefinitions.length);
    expect(files.filter((file) => file !== catalog).flatMap(codeLiterals)).toEqual([]);
  });

  it('puts every code on the troubleshooting page, once, with its status', () => {
    const page = readFileSync(join(root, 'docs/troubleshooting.md'), 'utf8');
    const section = page.slice(page.indexOf(ERRORS_START), page.indexOf(ERRORS_END));
    for (const entry of errorDefinitions) {
      expect(section.split(`#### \`${entry.code}\`\n`).length - 1, entry.code).toBe(1);
      expect(section).toContain(
        `| \`${entry.code}\` | ${entry.status ?? ' '} | ${entry.retryable ? 'yes' : 'no'} |`,
      );
    }
    expect(section).toContain(
      '| `SLUICE_ERR_WEBHOOK_BAD_SIGNATURE` | 401 | no | `no signature matched` |',
    );
  });

  it('replaces only the generated section of the page, and says how to add one that is missing', () => {
    const page = `# T\n\nhand-written\n\n${ERRORS_START}\nold\n${ERRORS_END}\n\n## After\n`;
    const rendered = renderTroubleshootingPage(page, [errorCatalog.notFound]);
    expect(rendered.startsWith('# T\n\nhand-written\n\n')).toBe(true);
    expect(rendered.endsWith(`${ERRORS_END}\n\n## After\n`)).toBe(true);
    expect(rendered).not.toContain('\nold\n');
    expect(rendered).toContain('#### `SLUICE_ERR_NOT_FOUND`\n\nHTTP 404 · not retried.');
    expect(renderTroubleshootingPage(rendered, [errorCatalog.notFound])).toBe(rendered);
    expect(() => renderTroubleshootingPage('# T\n', [errorCatalog.notFound])).toThrow(
      /no generated error section/,
    );
    expect(() => renderErrorSection([{ ...errorCatalog.notFound, area: 'elsewhere' }])).toThrow(
      /no heading for the area of SLUICE_ERR_NOT_FOUND \(elsewhere\)/,
    );
  });
});
