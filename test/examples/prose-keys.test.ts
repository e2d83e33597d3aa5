// Docs match the schema (issue 23): every configuration key a prose table of docs/ names exists in
// the schema of sluice.yaml (every built-in plugin's options included), and a `key: value` written
// as a table's first cell names a key and a value the schema accepts. The YAML blocks are
// validated by examples.test.ts; this covers the tables around them, where `missed: catch-up`,
// `catchUpMax` and `defaultRoute.name` had stayed after the keys changed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toJsonSchema } from '@sluice/config';
import { createRegistry } from '@sluice/server';
import { REPO_ROOT } from './full-validation.js';

type Schema = {
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  then?: Schema;
  else?: Schema;
  $ref?: string;
  enum?: unknown[];
  const?: unknown;
};

const schema = toJsonSchema({ registry: createRegistry() }) as Schema & {
  $defs?: Record<string, Schema>;
};

/** Every chain of property names in the schema (`server.rateLimit.perMinute`), map keys and list items skipped. */
function keyChains(): { chains: Set<string>; values: Map<string, Set<string>> } {
  const chains = new Set<string>();
  const values = new Map<string, Set<string>>();
  const seen = new Set<Schema>();
  const walk = (node: Schema | boolean | undefined, path: string[]): void => {
    if (!node || typeof node !== 'object' || seen.has(node) || path.length > 12) return;
    if (node.$ref) {
      const target = schema.$defs?.[node.$ref.replace(/^#\/\$defs\//, '')];
      return walk(target, path);
    }
    seen.add(node);
    const key = path.join('.');
    for (const value of [...(node.enum ?? []), ...(node.const === undefined ? [] : [node.const])]) {
      if (typeof value === 'string') values.set(key, (values.get(key) ?? new Set()).add(value));
    }
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      chains.add([...path, name].join('.'));
      walk(child, [...path, name]);
    }
    walk(node.additionalProperties, path);
    walk(node.items, path);
    // A plugin's options are the `then` of `if: { kind: <its kind> }` branches.
    for (const branch of [
      ...(node.anyOf ?? []),
      ...(node.oneOf ?? []),
      ...(node.allOf ?? []),
      node.then,
      node.else,
    ])
      walk(branch, path);
    seen.delete(node);
  };
  walk(schema, []);
  return { chains, values };
}

const { chains, values } = keyChains();

/** Whether a documented key (`rateLimit.perMinute`, `routes[].to`, `connections.<name>`) ends some schema chain. */
function known(key: string): boolean {
  const parts = key
    .replace(/\[\]/g, '')
    .split('.')
    .filter((p) => p !== '' && !/^<.*>$/.test(p) && p !== '*');
  if (parts.length === 0) return true;
  const wanted = parts.join('.');
  for (const chain of chains) if (chain === wanted || chain.endsWith(`.${wanted}`)) return true;
  return false;
}

/** Values the schema allows at a key (when it lists them), wherever the key is. */
function allowed(key: string): Set<string> | undefined {
  const out = new Set<string>();
  for (const [chain, set] of values)
    if (chain === key || chain.endsWith(`.${key}`)) for (const v of set) out.add(v);
  return out.size > 0 ? out : undefined;
}

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!['node_modules', '.vitepress', 'reference', 'public'].includes(entry.name))
        out.push(...markdownFiles(path));
    } else if (entry.name.endsWith('.md')) out.push(path);
  }
  return out;
}

// The generated reference and API page are written from the schema itself.
const GENERATED = new Set(['docs/configuration.md', 'docs/api.md']);
const KEY_HEADERS = new Set(['key', 'option', 'field']);

interface Cell {
  file: string;
  line: number;
  text: string;
  keyTable: boolean;
}

/**
 * First cells of every table of a page, and whether the table is one of configuration keys
 * (`| key | ...`, `| option | ...`, `| field | ...`). A table of other keys (log line keys) says so
 * with `<!-- keys: ... not configuration -->` on the line before it.
 */
function firstCells(file: string): Cell[] {
  const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
  const cells: Cell[] = [];
  let keyTable: boolean | undefined;
  lines.forEach((line, index) => {
    if (!line.startsWith('|')) {
      keyTable = undefined;
      return;
    }
    const first = line.split(/(?<!\\)\|/)[1]?.trim() ?? '';
    if (keyTable === undefined) {
      const notConfiguration = /^<!-- keys: .*not configuration -->$/.test(
        lines[index - 1]?.trim() ?? '',
      );
      keyTable = KEY_HEADERS.has(first.toLowerCase()) && !notConfiguration;
      return;
    }
    if (/^:?-+:?$/.test(first)) return;
    cells.push({ file, line: index + 1, text: first, keyTable });
  });
  return cells;
}

const cells = markdownFiles('docs')
  .filter((f) => !GENERATED.has(f))
  .flatMap(firstCells);
const codeSpans = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe('keys named in the prose tables of docs/', () => {
  it('finds the key tables', () => {
    const pages = new Set(cells.filter((c) => c.keyTable).map((c) => relative('docs', c.file)));
    for (const page of ['configuration-guide.md', 'router/rules.md', 'router/destinations/file.md'])
      expect(pages).toContain(page);
    expect(cells.filter((c) => c.keyTable).length).toBeGreaterThan(60);
  });

  it('every key of a key table exists in the schema', () => {
    const unknown = cells
      .filter((c) => c.keyTable)
      .flatMap((c) =>
        codeSpans(c.text).map((key) => ({
          key: key.split(/[\s:=]/)[0]!,
          where: `${c.file}:${c.line}`,
        })),
      )
      .filter(({ key }) => /^[A-Za-z_][\w.[\]<>*-]*$/.test(key) && !known(key));
    expect(unknown, 'documented keys the schema does not have').toEqual([]);
  });

  it('every `key: value` a table starts a row with names a key and a value the schema accepts', () => {
    const wrong: string[] = [];
    for (const cell of cells) {
      for (const span of codeSpans(cell.text)) {
        const pair = /^([A-Za-z_][\w.]*): (\S+)$/.exec(span);
        if (!pair) continue;
        const [, key, value] = pair;
        if (!known(key!)) wrong.push(`${cell.file}:${cell.line}: ${span} (no key "${key}")`);
        else if (allowed(key!) && !/^[<{[]/.test(value!) && !allowed(key!)!.has(value!))
          wrong.push(
            `${cell.file}:${cell.line}: ${span} ("${value}" is not one of ${[...allowed(key!)!].join(', ')})`,
          );
      }
    }
    expect(wrong).toEqual([]);
  });

  it('would have caught the keys that did not exist', () => {
    expect(known('missed')).toBe(true);
    expect(known('catchUpMax')).toBe(false);
    expect(known('defaultRoute.name')).toBe(false);
    expect(known('defaultRoute.to')).toBe(true);
    expect(allowed('missed')?.has('catch-up')).toBe(false);
    expect(known('rateLimit.perMinute')).toBe(true);
  });
});
