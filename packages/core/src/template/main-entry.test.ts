import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every module the main entry loads, following relative imports (value and type alike). */
function reachable(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (graph.has(file)) return;
    const specifiers = [
      ...readFileSync(file, 'utf8').matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)/g),
    ].map((m) => (m[1] ?? m[2])!);
    graph.set(file, specifiers);
    for (const spec of specifiers)
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
  };
  visit(entry);
  return graph;
}

describe('the main @sluice/core entry', () => {
  it('stays free of liquidjs: templates live behind @sluice/core/template', () => {
    const graph = reachable(join(src, 'index.ts'));
    expect(graph.size).toBeGreaterThan(5);
    for (const [file, specifiers] of graph) {
      expect({
        file,
        specifiers: specifiers.filter((s) => s === 'liquidjs' || s.includes('/template')),
      }).toEqual({ file, specifiers: [] });
    }
  });

  it('stays free of the outgoing-connection guard: it lives behind @sluice/core/net', () => {
    for (const [file, specifiers] of reachable(join(src, 'index.ts'))) {
      expect({
        file,
        specifiers: specifiers.filter(
          (s) => s === 'ipaddr.js' || s.startsWith('node:') || s.includes('/net/'),
        ),
      }).toEqual({ file, specifiers: [] });
    }
  });
});
