// Every configuration example in the repository must be true: it is validated the way
// `sluice validate` validates a file — every plugin section against its plugin's schema, every
// route table compiled — with fake environment variables and secret files (fake-secrets.ts).
//
// Covered: examples/sluice.example.yaml, examples/quickstart/sluice.yaml, and every fenced
// ```yaml block of packages/**/README.md, apps/server/README.md, examples/**/README.md and
// docs/**/*.md. Fragments are wrapped into a minimal complete document (fragments.ts). A block
// may be skipped only when its page marks it with `<!-- config-fragment: partial -->` on the
// line before, and only a handful may be.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '@sluice/config';
import { createRegistry } from '@sluice/server';
import { EXAMPLE_ENV, withFakeSecretFiles } from './fake-secrets.js';
import { completeFragment, NotAFragmentError, STUB } from './fragments.js';
import { describeFailure, REPO_ROOT, validateFully } from './full-validation.js';
import { yamlBlocks, type YamlBlock } from './markdown-blocks.js';

/** At most this many blocks may be marked partial: the rest must be real configuration. */
const MAX_PARTIAL_BLOCKS = 4;

const EXAMPLE_FILE = 'examples/sluice.example.yaml';

function markdownFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string, accept: (file: string) => boolean) => {
    for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        // Built output, dependencies and generated API reference (TypeDoc, git-ignored) hold no examples of ours.
        if (['node_modules', 'dist', '.vitepress', 'reference', '.sluice'].includes(entry.name))
          continue;
        walk(path, accept);
      } else if (accept(path)) found.push(path);
    }
  };
  walk('packages', (file) => file.endsWith('/README.md'));
  walk('examples', (file) => file.endsWith('/README.md'));
  walk('docs', (file) => file.endsWith('.md'));
  found.push('apps/server/README.md');
  return found.sort();
}

/**
 * The fragments of one block. A block whose lines are each `when: ...` (a list of conditions,
 * one per line, as the generated reference shows them) is one route fragment per line.
 */
function fragmentTexts(block: YamlBlock): string[] {
  const lines = block.text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  if (lines.length > 1 && lines.every((line) => line.startsWith('when: ')))
    return lines.map((line) => `${line}\n`);
  return [block.text];
}

let workDir: string;
const example = parseConfigText(readFileSync(join(REPO_ROOT, EXAMPLE_FILE), 'utf8'), 'yaml')
  .value as Record<string, unknown>;
const registry = createRegistry();
const blocks = markdownFiles().flatMap((file) =>
  yamlBlocks(readFileSync(join(REPO_ROOT, file), 'utf8'), file),
);

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'sluice-examples-'));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** A fresh folder for one validation, holding its fake secret files. */
function scratch(name: string): string {
  const dir = join(workDir, name.replace(/[^A-Za-z0-9_.-]+/g, '_'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('configuration files', () => {
  it(`${EXAMPLE_FILE} validates fully with every built-in plugin`, async () => {
    const dir = scratch('sluice.example');
    copyFileSync(join(REPO_ROOT, EXAMPLE_FILE), join(dir, 'sluice.yaml'));
    const text = readFileSync(join(dir, 'sluice.yaml'), 'utf8');
    withFakeSecretFiles(parseConfigText(text, 'yaml').value, dir);
    const { config } = await validateFully(text, { env: EXAMPLE_ENV, baseDir: dir }).catch(
      (error: unknown) => {
        throw new Error(`${EXAMPLE_FILE} is invalid:\n${describeFailure(error)}`, { cause: error });
      },
    );
    // The typical job of DESIGN.md, a HubSpot webhook pipeline and a BigQuery pipeline.
    const kindOf = (pipeline: string) => {
      const source = config.pipelines[pipeline]!.source;
      return source.connection ? config.connections[source.connection]!.kind : source.kind;
    };
    expect(
      Object.fromEntries(Object.keys(config.pipelines).map((name) => [name, kindOf(name)])),
    ).toEqual({
      'ga4-daily': 'ga4',
      'hubspot-deals': 'hubspot',
      'shop-orders': 'bigquery',
    });
    expect(config.pipelines['ga4-daily']!.schedule).toMatchObject({
      cron: '0 8 * * *',
      timezone: 'Europe/Berlin',
    });
    expect(config.pipelines['ga4-daily']!.source).toMatchObject({ compareWith: 'previousDay' });
    expect(config.pipelines['ga4-daily']!.routes[0]).toMatchObject({
      when: { path: '$.change', op: 'lt', value: -0.2 },
      to: ['slack-alerts'],
    });
    expect(config.pipelines['hubspot-deals']!.webhook).toMatchObject({ verify: 'hubspot-v3' });
    const kinds = new Set(Object.values(config.destinations).map((d) => d.kind));
    for (const kind of ['database', 's3', 'prometheus', 'slack']) expect(kinds).toContain(kind);
    expect(config.destinations['warehouse']).toMatchObject({ dialect: 'postgres', mode: 'upsert' });
    expect(config.destinations['reports-bucket']).toMatchObject({
      format: 'csv',
      partitionBy: ['date'],
    });
  });

  it('examples/quickstart/sluice.yaml validates fully, with its own secret files', async () => {
    const file = join(REPO_ROOT, 'examples/quickstart/sluice.yaml');
    const { config } = await validateFully(readFileSync(file, 'utf8'), {
      env: {},
      baseDir: join(REPO_ROOT, 'examples/quickstart'),
    }).catch((error: unknown) => {
      throw new Error(`examples/quickstart/sluice.yaml is invalid:\n${describeFailure(error)}`, {
        cause: error,
      });
    });
    expect(Object.keys(config.pipelines)).toEqual(['traffic', 'alerts']);
  });
});

describe('YAML examples in the documentation', () => {
  it('finds the pages and their blocks', () => {
    const pages = new Set(blocks.map((b) => b.file));
    for (const page of [
      'apps/server/README.md',
      'packages/config/README.md',
      'packages/destinations/s3/README.md',
      'docs/configuration-guide.md',
    ]) {
      expect(pages, `no YAML block found in ${page}`).toContain(page);
    }
    expect(blocks.length).toBeGreaterThan(25);
  });

  it(`skips at most ${MAX_PARTIAL_BLOCKS} blocks, each marked <!-- config-fragment: partial -->`, () => {
    const partial = blocks.filter((b) => b.partial).map((b) => `${b.file}:${b.line}`);
    expect(partial.length, `partial blocks: ${partial.join(', ')}`).toBeLessThanOrEqual(
      MAX_PARTIAL_BLOCKS,
    );
  });

  const checked = blocks.filter((b) => !b.partial);
  it.each(checked.map((block) => [`${block.file}:${block.line}`, block] as const))(
    '%s is a valid configuration fragment',
    async (name, block) => {
      const texts = fragmentTexts(block);
      for (const [index, text] of texts.entries()) {
        const where = texts.length > 1 ? `${name} (line ${block.line + 1 + index})` : name;
        const parsed = parseConfigText(text, 'yaml');
        if (parsed.problems.length > 0) {
          throw new Error(
            `${where}: not valid YAML:\n${parsed.problems.map((p) => `  ${JSON.stringify(p)}`).join('\n')}`,
          );
        }
        let completed;
        try {
          completed = completeFragment(parsed.value, {
            registry,
            example,
            stub: { kind: 'file', root: './out', path: `${STUB}/{{batch.id}}.ndjson` },
          });
        } catch (error) {
          if (error instanceof NotAFragmentError) {
            throw new Error(
              `${where}: not a Sluice configuration fragment (${error.message}); fix it, or mark an intentionally partial block with <!-- config-fragment: partial -->`,
              { cause: error },
            );
          }
          throw error;
        }
        const dir = scratch(`${relative('.', where)}-${index}`);
        const document = withFakeSecretFiles(completed.document, dir);
        await validateFully(document, { env: EXAMPLE_ENV, baseDir: dir }).catch(
          (error: unknown) => {
            throw new Error(
              `${where} (${completed.shape}) is invalid:\n${describeFailure(error)}\nas validated:\n${JSON.stringify(document, null, 2)}`,
              { cause: error },
            );
          },
        );
      }
    },
  );
});
