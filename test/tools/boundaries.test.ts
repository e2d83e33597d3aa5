// DESIGN §2's dependency direction as tools/check-packages.mjs checks it: made-up package graphs
// with one back edge each must fail naming the package, the file and the rule; the real workspace
// must pass.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  boundaryProblems,
  collectImports,
  isTestFile,
  layerOf,
  readPackageGraph,
} from '../../tools/lib/boundaries.mjs';

const root = resolve(import.meta.dirname, '../..');

type Node = Parameters<typeof boundaryProblems>[0][number];

function node(
  name: string,
  imports: Record<string, string[]> = {},
  manifest: Node['manifest'] = {},
  dir = `packages/${name.replace('@sluice/', '')}`,
): Node {
  return {
    name,
    dir,
    manifest,
    imports: Object.entries(imports).flatMap(([file, specifiers]) =>
      specifiers.map((specifier) => ({ file, specifier })),
    ),
  };
}

const peerCore = {
  peerDependencies: { '@sluice/core': '^0.1.0' },
  devDependencies: { '@sluice/core': '^0.1.0', '@sluice/testing': '^0.1.0' },
};

/** A graph that follows DESIGN §2; each test adds one edge to it. */
function cleanGraph(): Node[] {
  return [
    node('@sluice/core', { 'src/index.ts': ['./errors.js', 'node:crypto'] }),
    node(
      '@sluice/testing',
      { 'src/index.ts': ['@sluice/core', 'vitest'] },
      { dependencies: { '@sluice/core': '^0.1.0' } },
    ),
    node(
      '@sluice/router',
      { 'src/index.ts': ['@sluice/core', 'json-p3'] },
      { dependencies: { '@sluice/core': '^0.1.0' } },
    ),
    node(
      '@sluice/store',
      { 'src/index.ts': ['@sluice/core', 'kysely'] },
      { dependencies: { '@sluice/core': '^0.1.0' } },
    ),
    node(
      '@sluice/scheduler',
      {
        'src/index.ts': ['@sluice/core'],
        'src/scheduler.pglite.test.ts': ['@sluice/store'],
        'src/__fixtures__/memory-stores.ts': ['@sluice/store'],
      },
      {
        dependencies: { '@sluice/core': '^0.1.0' },
        devDependencies: { '@sluice/store': '^0.1.0' },
      },
    ),
    node(
      '@sluice/destinations-slack',
      {
        'src/plugin.ts': ['@sluice/core', '@sluice/core/template'],
        'src/contract.test.ts': ['@sluice/testing'],
      },
      peerCore,
      'packages/destinations/slack',
    ),
    node(
      '@sluice/connectors-hubspot',
      { 'src/connector.ts': ['@sluice/core', '@hubspot/api-client'] },
      peerCore,
      'packages/connectors/hubspot',
    ),
    node(
      '@sluice/server',
      {
        'src/runtime/sluice.ts': [
          '@sluice/scheduler',
          '@sluice/store',
          '@sluice/router',
          '@sluice/destinations-slack',
          '@sluice/connectors-hubspot',
          '@sluice/core',
        ],
      },
      {
        dependencies: Object.fromEntries(
          [
            '@sluice/scheduler',
            '@sluice/store',
            '@sluice/router',
            '@sluice/destinations-slack',
            '@sluice/connectors-hubspot',
            '@sluice/core',
          ].map((n) => [n, '^0.1.0']),
        ),
      },
      'apps/server',
    ),
  ];
}

function withEdge(
  name: string,
  file: string,
  specifier: string,
  manifest?: Node['manifest'],
): Node[] {
  return cleanGraph().map((pkg) =>
    pkg.name === name
      ? {
          ...pkg,
          manifest: manifest ?? pkg.manifest,
          imports: [...pkg.imports, { file, specifier }],
        }
      : pkg,
  );
}

describe('boundaryProblems', () => {
  it('accepts a graph that follows DESIGN §2', () => {
    expect(boundaryProblems(cleanGraph())).toEqual([]);
  });

  it('rejects core importing anything of the workspace', () => {
    const problems = boundaryProblems(
      withEdge('@sluice/core', 'src/registry.ts', '@sluice/router'),
    );
    expect(problems).toEqual([
      '@sluice/core: src/registry.ts imports @sluice/router: core -> router is not an edge of DESIGN §2 (it imports no Sluice package)',
    ]);
  });

  it('rejects the router importing a concrete destination (a back edge across a level)', () => {
    const problems = boundaryProblems(
      withEdge('@sluice/router', 'src/delivery/router.ts', '@sluice/destinations-slack', {
        dependencies: { '@sluice/core': '^0.1.0', '@sluice/destinations-slack': '^0.1.0' },
      }),
    );
    expect(problems).toEqual([
      '@sluice/router: package.json dependencies lists @sluice/destinations-slack: router -> destination is not an edge of DESIGN §2 (it may import only core)',
      '@sluice/router: src/delivery/router.ts imports @sluice/destinations-slack: router -> destination is not an edge of DESIGN §2 (it may import only core)',
    ]);
  });

  it('rejects the scheduler importing a connector, and a plugin importing a sibling plugin', () => {
    expect(
      boundaryProblems(
        withEdge('@sluice/scheduler', 'src/run-worker.ts', '@sluice/connectors-hubspot'),
      ),
    ).toEqual([
      '@sluice/scheduler: src/run-worker.ts imports @sluice/connectors-hubspot: scheduler -> connector is not an edge of DESIGN §2 (it may import only core)',
    ]);
    expect(
      boundaryProblems(
        withEdge(
          '@sluice/destinations-slack',
          'src/destination.ts',
          '@sluice/connectors-hubspot/state',
        ),
      ),
    ).toEqual([
      '@sluice/destinations-slack: src/destination.ts imports @sluice/connectors-hubspot/state: destination -> connector is not an edge of DESIGN §2 (it may import only core)',
    ]);
  });

  it('rejects anything importing apps/server, even from a test', () => {
    expect(
      boundaryProblems(withEdge('@sluice/store', 'src/store.test.ts', '@sluice/server')),
    ).toEqual([
      '@sluice/store: src/store.test.ts imports @sluice/server: store -> server is not an edge of DESIGN §2 (its tests may import only core, testing)',
    ]);
  });

  it('lets tests use @sluice/testing and the scheduler tests the store, but not shipped code', () => {
    expect(
      boundaryProblems(withEdge('@sluice/scheduler', 'src/scheduler.ts', '@sluice/store')),
    ).toEqual([
      '@sluice/scheduler: src/scheduler.ts imports @sluice/store: scheduler -> store is not an edge of DESIGN §2 (it may import only core)',
    ]);
    expect(
      boundaryProblems(
        withEdge('@sluice/destinations-slack', 'src/__fixtures__/slack-api.ts', '@sluice/testing'),
      ),
    ).toEqual([]);
    expect(
      boundaryProblems(
        withEdge('@sluice/destinations-slack', 'src/destination.ts', '@sluice/testing'),
      )[0],
    ).toMatch(/destination -> testing is not an edge/);
  });

  it('rejects a dependency field back edge without any import', () => {
    const graph = cleanGraph().map((pkg) =>
      pkg.name === '@sluice/store'
        ? {
            ...pkg,
            manifest: { dependencies: { '@sluice/core': '^0.1.0', '@sluice/config': '^0.1.0' } },
          }
        : pkg,
    );
    graph.push(node('@sluice/config', {}, { dependencies: { '@sluice/core': '^0.1.0' } }));
    expect(boundaryProblems(graph)).toEqual([
      '@sluice/store: package.json dependencies lists @sluice/config: store -> config is not an edge of DESIGN §2 (it may import only core)',
    ]);
  });

  it('rejects reaching into another package by path, and an allowed import package.json does not declare', () => {
    expect(
      boundaryProblems(
        withEdge(
          '@sluice/router',
          'src/delivery/router.ts',
          '../../../destinations/slack/src/index.js',
        ),
      ),
    ).toEqual([
      '@sluice/router: src/delivery/router.ts imports ../../../destinations/slack/src/index.js, a path outside the package: import the package by name (DESIGN §2)',
    ]);
    expect(
      boundaryProblems(withEdge('@sluice/router', 'src/delivery/router.ts', '../index.js')),
    ).toEqual([]);
    expect(
      boundaryProblems(
        withEdge('@sluice/destinations-slack', 'src/plugin.ts', '@sluice/core', {
          devDependencies: { '@sluice/core': '^0.1.0' },
        }),
      ),
    ).toContain(
      '@sluice/destinations-slack: src/plugin.ts imports @sluice/core but package.json does not list @sluice/core in dependencies or peerDependencies',
    );
  });

  it('asks for a layer for a @sluice package DESIGN §2 does not place', () => {
    const graph = [
      ...cleanGraph(),
      node(
        '@sluice/notebook',
        { 'src/main.ts': ['@sluice/core'] },
        { dependencies: { '@sluice/core': '^0.1.0' } },
      ),
    ];
    expect(boundaryProblems(graph)).toEqual([
      '@sluice/notebook (packages/notebook): no layer in DESIGN §2 for this package: place it in tools/lib/boundaries.mjs (LAYER_RULES) and DESIGN.md',
    ]);
  });

  it('lets the server depend on the dashboard, and the dashboard on no Sluice package', () => {
    const dashboard = (imports: string[], dependencies: Record<string, string>) =>
      node('@sluice/dashboard', { 'src/index.ts': imports }, { dependencies });
    const server = node(
      '@sluice/server',
      { 'src/http/dashboard.ts': ['@sluice/dashboard'] },
      { dependencies: { '@sluice/dashboard': '^0.1.0' } },
    );
    const others = cleanGraph().filter((n) => n.name !== '@sluice/server');
    expect(boundaryProblems([...others, dashboard([], {}), server])).toEqual([]);
    expect(
      boundaryProblems([
        ...cleanGraph(),
        dashboard(['@sluice/core'], { '@sluice/core': '^0.1.0' }),
      ]),
    ).toEqual([
      '@sluice/dashboard: package.json dependencies lists @sluice/core: dashboard -> core is not an edge of DESIGN §2 (it imports no Sluice package)',
      '@sluice/dashboard: src/index.ts imports @sluice/core: dashboard -> core is not an edge of DESIGN §2 (it imports no Sluice package)',
    ]);
  });
});

describe('layers and files', () => {
  it('places packages by name', () => {
    expect(layerOf('@sluice/connectors-ga4')).toBe('connector');
    expect(layerOf('@sluice/destinations-s3')).toBe('destination');
    expect(layerOf('sluice-plugin-http-json', { thirdParty: true })).toBe('third-party-plugin');
    expect(layerOf('@sluice/unknown')).toBeUndefined();
  });

  it('counts tests and __fixtures__ as test code', () => {
    expect(isTestFile('src/a.test.ts')).toBe(true);
    expect(isTestFile('src/plugin.test-d.ts')).toBe(true);
    expect(isTestFile('src/__fixtures__/server.ts')).toBe(true);
    expect(isTestFile('src/__fixtures__/processes.ts')).toBe(true);
    expect(isTestFile('src/testing/processes.ts')).toBe(false);
    expect(isTestFile('src/delivery/router.ts')).toBe(false);
  });
});

describe('collectImports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-boundaries-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads imports, export-from and dynamic imports, not comments', () => {
    mkdirSync(join(dir, 'src/__fixtures__'), { recursive: true });
    writeFileSync(
      join(dir, 'src/index.ts'),
      [
        "// import { x } from '@sluice/server';",
        '/** @example import { y } from "@sluice/router"; */',
        "import type { Record } from '@sluice/core';",
        "export { z } from './z.js';",
        "const later = () => import('@sluice/core/template');",
        'const text = "import \'@sluice/store\'";',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'src/__fixtures__/server.ts'),
      "import { fake } from '@sluice/testing';\n",
    );
    expect(collectImports(dir)).toEqual([
      { file: 'src/__fixtures__/server.ts', specifier: '@sluice/testing' },
      { file: 'src/index.ts', specifier: '@sluice/core' },
      { file: 'src/index.ts', specifier: './z.js' },
      { file: 'src/index.ts', specifier: '@sluice/core/template' },
    ]);
  });
});

describe('the workspace', () => {
  it('has no back edge', () => {
    const out = execFileSync('npm', ['query', '.workspace', '--json'], {
      cwd: root,
      encoding: 'utf8',
    });
    const dirs = (JSON.parse(out) as { realpath: string }[]).map((w) => w.realpath);
    const graph = readPackageGraph(root, dirs);
    expect(graph.length).toBeGreaterThan(15);
    expect(boundaryProblems(graph)).toEqual([]);
  });
});
