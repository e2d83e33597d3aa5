// The one plugin package layout as tools/check-packages.mjs checks it: a made-up package missing
// one piece must fail naming the package and the file; every plugin package of the workspace and
// the packages tools/new-package.mjs and `npm create @sluice/plugin` write must pass.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pluginFiles, pluginNames } from '@sluice/create-plugin';
import { packageFiles } from '../../tools/new-package.mjs';
import { pluginKindOf, readSourceFiles, skeletonProblems } from '../../tools/lib/skeleton.mjs';

const root = resolve(import.meta.dirname, '../..');
const name = '@sluice/destinations-acme';

/** A destination package with every piece of the layout. */
function complete(): Map<string, string> {
  return new Map([
    [
      'src/index.ts',
      "import { acmePlugin } from './plugin.js';\nexport { acmePlugin } from './plugin.js';\nexport default acmePlugin;\n",
    ],
    [
      'src/plugin.ts',
      "export const acmePlugin = definePlugin({ name: '@sluice/destinations-acme' });\nexport default acmePlugin;\n",
    ],
    [
      'src/destination.ts',
      'export function createAcmeDestination(config: AcmeConfig, ctx: PluginContext) {}\n',
    ],
    ['src/config.ts', 'export const acmeConfigSchema = v.object({});\n'],
    ['src/errors.ts', 'export function mapAcmeError() {}\n'],
    ['src/contract.test.ts', 'testDestination<AcmeConfig>({ name: "acme" });\n'],
    ['src/__fixtures__/acme-server.ts', 'export {};\n'],
  ]);
}

const without = (file: string) => {
  const files = complete();
  files.delete(file);
  return files;
};
const replaced = (file: string, text: string) => new Map([...complete(), [file, text]]);

describe('skeletonProblems', () => {
  it('accepts the complete layout', () => {
    expect(skeletonProblems({ name, kind: 'destination', files: complete() })).toEqual([]);
  });

  it('names each missing file and the package', () => {
    expect(
      skeletonProblems({ name, kind: 'destination', files: without('src/plugin.ts') }),
    ).toEqual([
      '@sluice/destinations-acme: src/plugin.ts missing: the definePlugin(...) result lives there, as a named and as the default export',
    ]);
    expect(
      skeletonProblems({ name, kind: 'destination', files: without('src/config.ts') }),
    ).toEqual(['@sluice/destinations-acme: src/config.ts missing: the valibot config schema']);
    expect(
      skeletonProblems({ name, kind: 'destination', files: without('src/contract.test.ts') }),
    ).toEqual([
      '@sluice/destinations-acme: src/contract.test.ts missing: the @sluice/testing contract suite (testDestination)',
    ]);
    expect(skeletonProblems({ name, kind: 'connector', files: complete() })).toEqual([
      '@sluice/destinations-acme: src/connector.ts missing: the connector definition and its create… factory',
    ]);
  });

  it('wants the plugin named and default in plugin.ts, exported from index.ts, and not defined in index.ts', () => {
    expect(
      skeletonProblems({
        name,
        kind: 'destination',
        files: replaced('src/plugin.ts', 'export const acmePlugin = definePlugin({});\n'),
      }),
    ).toEqual(['@sluice/destinations-acme: src/plugin.ts must also `export default acmePlugin;`']);
    expect(
      skeletonProblems({
        name,
        kind: 'destination',
        files: replaced('src/plugin.ts', 'export default definePlugin({});\n'),
      }),
    ).toEqual([
      '@sluice/destinations-acme: src/plugin.ts must declare `export const <name>Plugin = definePlugin({...})`',
    ]);
    expect(
      skeletonProblems({
        name,
        kind: 'destination',
        files: replaced(
          'src/index.ts',
          '/** @example export default definePlugin({}) */\nexport const acmePlugin = definePlugin({});\nexport default acmePlugin;\n',
        ),
      }),
    ).toEqual([
      '@sluice/destinations-acme: src/index.ts must export the plugin from ./plugin.js (named and default)',
      '@sluice/destinations-acme: src/index.ts calls definePlugin: the plugin belongs in src/plugin.ts',
    ]);
  });

  it('wants a create… factory, errors.ts by that name, helpers in __fixtures__ and a contract suite that runs', () => {
    expect(
      skeletonProblems({
        name,
        kind: 'destination',
        files: replaced(
          'src/destination.ts',
          'export const acmeDestination = defineDestination({ create: () => ({}) });\n',
        ),
      }),
    ).toEqual([
      "@sluice/destinations-acme: src/destination.ts has no create… factory (a top-level `function create<Name>Destination(config, ctx)` the definition's create calls)",
    ]);
    const renamed = without('src/errors.ts');
    renamed.set('src/acme-errors.ts', 'export function mapAcmeError() {}\n');
    expect(skeletonProblems({ name, kind: 'destination', files: renamed })).toEqual([
      '@sluice/destinations-acme: src/acme-errors.ts should be src/errors.ts (one name for the error mapping in every plugin package)',
    ]);
    expect(
      skeletonProblems({
        name,
        kind: 'destination',
        files: replaced('src/testing/acme-server.ts', 'export {};\n'),
      }),
    ).toEqual([
      '@sluice/destinations-acme: src/testing/acme-server.ts: test helpers go in src/__fixtures__/ (excluded from the build and the tarball)',
    ]);
    expect(
      skeletonProblems({
        name,
        kind: 'destination',
        files: replaced('src/contract.test.ts', "it('writes', () => {});\n"),
      }),
    ).toEqual([
      '@sluice/destinations-acme: src/contract.test.ts does not run testConnector or testDestination from @sluice/testing',
    ]);
  });

  it('a package exporting ./plugin defines its kind in plugin.ts and imports the implementation only lazily', () => {
    const lazyPlugin = [
      "import type { AcmeConfig } from './config.js';",
      'export const acmeDestination = defineDestination({',
      '  create: async (config, ctx) => {',
      "    const { createAcmeDestination } = await import('./destination.js');",
      '    return createAcmeDestination(config, ctx);',
      '  },',
      '});',
      "export const acmePlugin = definePlugin({ name: '@sluice/destinations-acme', destinations: [acmeDestination] });",
      'export default acmePlugin;',
      '',
    ].join('\n');
    const lazy = (plugin: string) =>
      skeletonProblems({
        name,
        kind: 'destination',
        lazy: true,
        files: replaced('src/plugin.ts', plugin),
      });
    expect(lazy(lazyPlugin)).toEqual([]);
    expect(
      lazy(
        `import { acmeDestination } from './destination.js';\n${complete().get('src/plugin.ts')}`,
      ),
    ).toEqual([
      "@sluice/destinations-acme: src/plugin.ts imports ./destination.js statically: its package exports ./plugin, so create must import it lazily (await import('./destination.js'))",
    ]);
    expect(lazy(complete().get('src/plugin.ts')!)).toEqual([
      "@sluice/destinations-acme: src/plugin.ts never imports ./destination.js: its package exports ./plugin, so the definition's create imports the implementation with await import('./destination.js')",
    ]);
  });
});

describe('the workspace', () => {
  it('every plugin package has the layout', () => {
    const dirs = ['connectors', 'destinations'].flatMap((group) =>
      readdirSync(join(root, 'packages', group)).map((d) => `packages/${group}/${d}`),
    );
    expect(dirs.length).toBeGreaterThan(8);
    const problems = dirs.flatMap((dir) => {
      const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
        name: string;
        exports: Record<string, unknown>;
      };
      return skeletonProblems({
        name: pkg.name,
        kind: pluginKindOf(dir)!,
        lazy: pkg.exports['./plugin'] !== undefined,
        files: readSourceFiles(join(root, dir)),
      });
    });
    expect(problems).toEqual([]);
  });

  it('npm create @sluice/plugin writes a third-party plugin with the same layout, for its connector and its destination', () => {
    const files = pluginFiles(pluginNames({ dir: 'sluice-plugin-acme' }));
    const sources = new Map(Object.entries(files).filter(([file]) => file.startsWith('src/')));
    for (const kind of ['connector', 'destination'] as const)
      expect(skeletonProblems({ name: 'sluice-plugin-acme', kind, files: sources }), kind).toEqual(
        [],
      );
  });

  it('tools/new-package.mjs writes plugin packages that have the layout', () => {
    const cases = [
      {
        dir: 'packages/destinations/acme-sheets',
        name: '@sluice/destinations-acme-sheets',
        kind: 'destination' as const,
      },
      {
        dir: 'packages/connectors/acme',
        name: '@sluice/connectors-acme',
        kind: 'connector' as const,
      },
    ];
    for (const { dir, name: pkgName, kind } of cases) {
      const files = packageFiles({ dir, name: pkgName, description: 'Acme, for the test.', root });
      const sources = new Map(Object.entries(files).filter(([file]) => file.startsWith('src/')));
      expect(skeletonProblems({ name: pkgName, kind, files: sources })).toEqual([]);
      const manifest = JSON.parse(files['package.json']!) as {
        peerDependencies: object;
        files: string[];
      };
      expect(manifest.peerDependencies).toEqual({ '@sluice/core': '^0.1.0' });
      expect(manifest.files).toEqual(expect.arrayContaining(['LICENSE', 'CHANGELOG.md']));
    }
    expect(
      Object.keys(packageFiles({ dir: 'packages/destinations/acme-sheets', name: 'x', root }))
        .filter((f) => f.startsWith('src/'))
        .sort(),
    ).toEqual([
      'src/config.ts',
      'src/contract.test.ts',
      'src/destination.ts',
      'src/errors.ts',
      'src/index.ts',
      'src/plugin.ts',
    ]);
    // Outside connectors/ and destinations/, a package gets no plugin sources.
    expect(
      Object.keys(packageFiles({ dir: 'packages/acme', name: '@sluice/acme', root })).filter((f) =>
        f.startsWith('src/'),
      ),
    ).toEqual(['src/index.ts']);
  });
});
