// The generated documentation pages (docs/configuration.md, docs/public/sluice.schema.json,
// docs/api.md) must match what the code generates: this runs the generator of
// tools/docs/generate.mjs on the packages' sources (vitest resolves `@sluice/*` to `src/`) and
// fails naming each stale page. Fix: `npm run docs:generate`, then commit the pages.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { OUTPUTS, generatePages, stalePages } from '../../tools/docs/lib/pages.mjs';
import { renderApiPage, scopeOf } from '../../tools/docs/lib/render-api.mjs';
import { code, table } from '../../tools/docs/lib/markdown.mjs';
import { buildProblems } from '../../tools/docs/lib/build-freshness.mjs';

type Page = { path: string; content: string };
type Generated = { pages: Page[]; notes: string[]; skipped: { path: string; reason: string }[] };

const root = resolve(import.meta.dirname, '../..');

/** Where a committed page first differs from the generated one, to make the failure actionable. */
function firstDifference(expected: string, path: string): string {
  const file = resolve(root, path);
  if (!existsSync(file)) return 'missing';
  const actual = readFileSync(file, 'utf8').split('\n');
  const lines = expected.split('\n');
  const index = lines.findIndex((line, i) => line !== actual[i]);
  const at = index === -1 ? Math.min(lines.length, actual.length) : index;
  return `line ${at + 1}: committed ${JSON.stringify((actual[at] ?? '<end of file>').slice(0, 160))}, generated ${JSON.stringify((lines[at] ?? '<end of file>').slice(0, 160))}`;
}

describe('generated documentation', () => {
  let generated: Promise<Generated> | undefined;
  const generate = () =>
    (generated ??= generatePages({
      importModule: (specifier: string) => import(specifier),
      root,
    }) as Promise<Generated>);

  it('is up to date with the code (run `npm run docs:generate` when this fails)', async () => {
    const { pages } = await generate();
    expect(pages.map((p) => p.path)).toEqual(
      expect.arrayContaining([OUTPUTS.configuration, OUTPUTS.schema]),
    );
    const stale: string[] = stalePages(pages, root);
    const details = stale.map(
      (path) => `${path}: ${firstDifference(pages.find((p) => p.path === path)!.content, path)}`,
    );
    expect(
      details,
      'stale generated pages: run `npm run docs:generate` (after building the packages) and commit them',
    ).toEqual([]);
  });

  it('documents every built-in kind and every top-level section', async () => {
    const { pages } = await generate();
    const page = pages.find((p) => p.path === OUTPUTS.configuration)!.content;
    for (const section of [
      'store',
      'server',
      'logging',
      'plugins',
      'connections',
      'destinations',
      'pipelines',
      'routes',
      'conditions',
      'transforms',
    ]) {
      expect(page).toContain(`\n## ${section}\n`);
    }
    for (const anchor of [
      'connector-ga4',
      'connector-hubspot',
      'connector-bigquery',
      'destination-database',
      'destination-file',
      'destination-webhook',
      'destination-prometheus',
      'transform-pick',
      'transform-rename',
    ]) {
      expect(page).toContain(`{#${anchor}}`);
    }
    // Liquid templates in examples must not reach Vue: every table sits in a v-pre container.
    const outsideVerbatim = page
      .replace(/::: v-pre\n[\s\S]*?\n:::/g, '')
      .replace(/```[\s\S]*?```/g, '');
    expect(outsideVerbatim).not.toMatch(/\{\{/);
  });

  it('publishes a JSON Schema editors can load, with a branch per built-in kind', async () => {
    const { pages } = await generate();
    const schema = JSON.parse(pages.find((p) => p.path === OUTPUTS.schema)!.content);
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const validate = new Ajv({ strict: false, allErrors: true, logger: false }).compile(schema);
    expect(validate({ version: 1, server: { port: 8080 } })).toBe(true);
    expect(validate({ server: { port: 'eighty' } })).toBe(false);
    const kinds = schema.properties.destinations.additionalProperties.properties.kind
      .enum as string[];
    expect(kinds).toEqual(expect.arrayContaining(['database', 'file', 'prometheus', 'webhook']));
    // An editor completes a kind's own keys: the file destination's `format` is known.
    expect(
      validate({
        destinations: { out: { kind: 'file', root: './out', path: 'a.csv', format: 'xml' } },
      }),
    ).toBe(false);
  });

  it('names the page it could not generate and why', async () => {
    const { skipped } = await generate();
    for (const { path, reason } of skipped) {
      expect(path).toBe(OUTPUTS.api);
      expect(reason).toMatch(/@sluice\/server/);
    }
    if (skipped.length === 0) expect(existsSync(resolve(root, OUTPUTS.api))).toBe(true);
  });
});

describe('the REST API page', () => {
  it('renders every operation of an OpenAPI 3.1 document from @fastify/swagger', async () => {
    const app = Fastify({ logger: false });
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Sluice API', version: '0.0.0', description: 'Operate Sluice.' },
        components: {
          securitySchemes: {
            apiKey: {
              type: 'http',
              scheme: 'bearer',
              description: 'An API key from server.apiKeys',
            },
          },
        },
        security: [{ apiKey: [] }],
        tags: [{ name: 'runs', description: 'Runs of pipelines.' }],
      },
    });
    app.get(
      '/healthz',
      {
        schema: {
          summary: 'Liveness',
          tags: ['ops'],
          security: [],
          response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } },
        },
      },
      async () => ({ ok: true }),
    );
    app.post(
      '/api/v1/pipelines/:pipeline/runs',
      {
        schema: {
          summary: 'Start a run',
          description: 'Queues a run of the pipeline.',
          tags: ['runs'],
          security: [{ apiKey: ['run'] }],
          params: {
            type: 'object',
            properties: {
              pipeline: { type: 'string', description: 'Pipeline name', examples: ['ga4-daily'] },
            },
            required: ['pipeline'],
          },
          querystring: {
            type: 'object',
            properties: {
              dryRun: { type: 'boolean', default: false, description: 'Route without delivering' },
            },
          },
          body: {
            type: 'object',
            properties: {
              params: { type: 'object', description: 'Run parameters', additionalProperties: true },
              note: { type: 'string', description: "Operator's | note" },
            },
            required: ['params'],
          },
          response: {
            202: {
              description: 'Queued',
              type: 'object',
              properties: { runId: { type: 'string', format: 'uuid' } },
              required: ['runId'],
            },
          },
        },
      },
      async () => ({ runId: '1' }),
    );
    await app.ready();
    const document = JSON.parse(JSON.stringify(app.swagger()));
    await app.close();

    const page: string = renderApiPage(document);
    expect(page).toContain('### POST /api/v1/pipelines/{pipeline}/runs');
    expect(page).toContain('### GET /healthz');
    expect(page).toContain('Scope: An API key with the `run` scope');
    expect(page).toContain('Scope: None: this endpoint needs no API key.');
    expect(page).toContain('| `pipeline` | path | string, **required** | Pipeline name |');
    expect(page).toContain(
      '| `dryRun` | query | boolean, default `false` | Route without delivering |',
    );
    expect(page).toContain("Operator's \\| note");
    expect(page).toContain('| `202` | Queued |');
    expect(page).toContain('curl -sS -X POST "$SLUICE_URL/api/v1/pipelines/ga4-daily/runs"');
    expect(page).toContain(`-d '{"params":{}}'`);
    expect(page).not.toMatch(/curl -sS "\$SLUICE_URL\/healthz" \\\n\s+-H "Authorization/);
    expect(page).toContain('## runs\n\nRuns of pipelines.');
  });

  it('reads the scope from security scopes, tags or an extension, and public routes', () => {
    const doc = { security: [{ apiKey: [] }] };
    expect(scopeOf(doc, { security: [{ apiKey: ['read'] }] }).short).toBe('`read`');
    expect(scopeOf(doc, { tags: ['scope:admin'] }).short).toBe('`admin`');
    expect(scopeOf(doc, { 'x-sluice-scope': 'run' }).short).toBe('`run`');
    expect(scopeOf(doc, { security: [] }).short).toBe('public');
    expect(scopeOf(doc, {}).short).toBe('any key');
  });
});

describe('markdown helpers', () => {
  it('fences code around backticks and escapes pipes in tables', () => {
    expect(code('a`b')).toBe('``a`b``');
    expect(table(['k'], [['`a|b`']])).toBe('| k |\n| --- |\n| `a\\|b` |');
  });
});

describe('build freshness of the packages the generator imports', () => {
  // A package laid out like ours, built with the real tsc, in a temporary folder.
  const dir = mkdtempSync(join(tmpdir(), 'sluice-docs-fresh-'));
  const spec = { package: '@acme/fresh', dir: 'pkg' };
  const pkg = join(dir, 'pkg');
  const cacheFile = 'fresh.json';
  const write = (file: string, text: string) => {
    mkdirSync(resolve(pkg, file, '..'), { recursive: true });
    writeFileSync(join(pkg, file), text);
  };
  const tsc = () => {
    const result = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(pkg, 'tsconfig.build.json')],
      { encoding: 'utf8' },
    );
    expect(result.status, result.stdout + result.stderr).toBe(0);
  };
  const touch = (folder: string, seconds: number) => {
    const at = new Date(Date.now() + seconds * 1000);
    for (const entry of readdirSync(join(pkg, folder), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) utimesSync(join(entry.parentPath, entry.name), at, at);
    }
  };
  const problems = (options: { cacheFile?: string | false } = { cacheFile }) =>
    buildProblems(dir, [spec], options) as string[];

  it('goes by content: a build restored with older file times is current, a changed source is not', () => {
    write('package.json', JSON.stringify({ name: '@acme/fresh', type: 'module' }));
    write(
      'tsconfig.build.json',
      JSON.stringify({
        compilerOptions: {
          target: 'es2023',
          lib: ['es2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          isolatedModules: true,
          verbatimModuleSyntax: true,
          declaration: true,
          declarationMap: true,
          sourceMap: true,
          types: [],
          rootDir: 'src',
          outDir: 'dist',
        },
        include: ['src'],
        exclude: ['src/**/*.test.ts'],
      }),
    );
    write(
      'src/index.ts',
      "export { double } from './util.js';\nexport type { Shape } from './types.js';\n",
    );
    write(
      'src/util.ts',
      "import type { Shape } from './types.js';\n/** Twice. */\nexport const double = (n: number): number => n * 2;\nexport class Box implements Shape { readonly sides = 4; }\n",
    );
    write('src/types.ts', 'export interface Shape { readonly sides: number }\n');
    write('src/util.test.ts', "import { double } from './util.js';\nconsole.log(double(2));\n");
    expect(problems()).toEqual([
      expect.stringContaining('@acme/fresh is not built: run `npx nx run @acme/fresh:build`'),
    ]);
    tsc();
    expect(problems()).toEqual([]);

    // What Nx does on a cache hit, and what a checkout does: sources newer than the build.
    touch('dist', -3600);
    touch('src', 60);
    expect(problems({ cacheFile: false })).toEqual([]);
    expect(problems()).toEqual([]);

    // A changed source is stale whatever the times say, and names the file and the fix.
    write(
      'src/util.ts',
      '/** Thrice. */\nexport const double = (n: number): number => n * 3;\nexport class Box { readonly sides = 4; }\n',
    );
    touch('src', -7200);
    const stale = problems();
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatch(
      /^@acme\/fresh is not built from its current sources \(src\/util\.ts\): run `npx nx run @acme\/fresh:build` \(or `npx tsc -p pkg\/tsconfig\.build\.json`\)$/,
    );
    // The fix it names ends it: rebuild, then current (no loop).
    tsc();
    expect(problems()).toEqual([]);
    // Tests are not part of the build; a deleted output is.
    write('src/util.test.ts', 'console.log(1);\n');
    expect(problems()).toEqual([]);
    rmSync(join(pkg, 'dist/types.js'));
    expect(problems()[0]).toContain('(src/types.ts)');
    tsc();
    expect(problems()).toEqual([]);
    // Verified content is remembered by hash, per package.
    const remembered = JSON.parse(readFileSync(join(dir, cacheFile), 'utf8'));
    expect(Object.keys(remembered)).toEqual(['pkg']);
    expect(remembered.pkg.sources).toMatch(/^[0-9a-f]{64}$/);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
