// The one layout every first-party plugin package (packages/connectors/*, packages/destinations/*)
// follows, so a reader who knows one knows them all (DESIGN §10, TanStack; issue 14):
//
//   src/index.ts            the public entry: re-exports, and the plugin as the default export
//   src/plugin.ts           `export const <x>Plugin = definePlugin({...})` and `export default <x>Plugin`
//   src/connector.ts        (connectors) the definition and its `create…` factory
//   src/destination.ts      (destinations) the definition and its `create…` factory
//   src/config.ts           the valibot config schema
//   src/errors.ts           how the service's failures map to Sluice errors, where the package has
//                           such a mapping (never `<service>-errors.ts`)
//   src/contract.test.ts    the @sluice/testing contract suite (testConnector / testDestination)
//   src/__fixtures__/       test helpers (not `src/testing/`): kept out of the build and the tarball
//
// A plugin whose implementation imports a heavy SDK (BigQuery, GA4, HubSpot, AWS, nodemailer,
// Slack) keeps its definition in src/plugin.ts instead, with a `create` that imports
// ./connector.js or ./destination.js (`await import(...)`) when the first instance is made, and
// exports that module alone as `<package>/plugin` in package.json; the reference server imports
// those entries, so it loads only the SDKs its configuration uses (issues 19 and 20). Such a
// package ("lazy") must not import its implementation statically from plugin.ts.
//
// tools/check-packages.mjs runs `skeletonProblems` on every plugin package; tools/new-package.mjs
// writes this layout; test/tools/skeleton.test.ts proves the check names what is missing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';

/** Source text without its comments (TSDoc examples call definePlugin too). */
const withoutComments = (text) =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

const RUNS_SUITE = /\btest(Connector|Destination)\s*(<[^>]*>)?\s*\(/;

/**
 * The plugin kind of a package folder relative to the repository root, or `undefined`.
 *
 * @param {string} dir e.g. `packages/destinations/slack`
 * @returns {'connector' | 'destination' | undefined}
 */
export function pluginKindOf(dir) {
  const match = /(?:^|\/)packages\/(connectors|destinations)\/[^/]+$/.exec(
    dir.split(sep).join('/'),
  );
  return match ? (match[1] === 'connectors' ? 'connector' : 'destination') : undefined;
}

/**
 * Everything a plugin package lacks of the one layout, one sentence each naming the file.
 *
 * @param {{ name: string, kind: 'connector' | 'destination', lazy?: boolean, files: Map<string, string> }} pkg
 *   `files`: every file under `src/` (path relative to the package, with `/`) and its text;
 *   `lazy`: the package exports `./plugin` (its plugin without its implementation)
 * @returns {string[]}
 */
export function skeletonProblems({ name, kind, lazy = false, files }) {
  const problems = [];
  const missing = (file, why) => problems.push(`${name}: src/${file} missing: ${why}`);
  const text = (file) => files.get(`src/${file}`);

  if (text('index.ts') === undefined) missing('index.ts', 'the public entry every package has');
  const plugin = text('plugin.ts');
  if (plugin === undefined) {
    missing(
      'plugin.ts',
      'the definePlugin(...) result lives there, as a named and as the default export',
    );
  } else {
    const named = /export\s+const\s+([A-Za-z0-9_$]+Plugin)\s*=\s*definePlugin\(/.exec(plugin);
    if (!named)
      problems.push(
        `${name}: src/plugin.ts must declare \`export const <name>Plugin = definePlugin({...})\``,
      );
    else if (!new RegExp(`export\\s+default\\s+${named[1]}\\s*;`).test(plugin)) {
      problems.push(`${name}: src/plugin.ts must also \`export default ${named[1]};\``);
    }
    const index = text('index.ts');
    if (index !== undefined && !/from\s+['"]\.\/plugin\.js['"]/.test(index)) {
      problems.push(
        `${name}: src/index.ts must export the plugin from ./plugin.js (named and default)`,
      );
    }
    if (index !== undefined && /definePlugin\(/.test(withoutComments(index)))
      problems.push(
        `${name}: src/index.ts calls definePlugin: the plugin belongs in src/plugin.ts`,
      );
    if (lazy) {
      const code = withoutComments(plugin);
      const implementation = `\\./${kind}\\.js`;
      const staticImport = new RegExp(
        `^\\s*import\\s+(?!type\\b)[^;]*?from\\s+['"]${implementation}['"]`,
        'm',
      );
      if (staticImport.test(code))
        problems.push(
          `${name}: src/plugin.ts imports ./${kind}.js statically: its package exports ./plugin, so create must import it lazily (await import('./${kind}.js'))`,
        );
      else if (!new RegExp(`\\bimport\\(\\s*['"]${implementation}['"]\\s*\\)`).test(code))
        problems.push(
          `${name}: src/plugin.ts never imports ./${kind}.js: its package exports ./plugin, so the definition's create imports the implementation with await import('./${kind}.js')`,
        );
    }
  }
  const definition = text(`${kind}.ts`);
  if (definition === undefined)
    missing(`${kind}.ts`, `the ${kind} definition and its create… factory`);
  else if (
    !/^(?:export\s+)?(?:async\s+)?function\s+create[A-Z][A-Za-z0-9]*\s*\(/m.test(definition)
  ) {
    problems.push(
      `${name}: src/${kind}.ts has no create… factory (a top-level \`function create<Name>${kind === 'connector' ? 'Connector' : 'Destination'}(config, ctx)\` the definition's create calls)`,
    );
  }
  if (text('config.ts') === undefined) missing('config.ts', 'the valibot config schema');
  for (const file of files.keys()) {
    const errors = /^src\/([a-z0-9]+(?:-[a-z0-9]+)*)-errors\.ts$/.exec(file);
    if (errors)
      problems.push(
        `${name}: ${file} should be src/errors.ts (one name for the error mapping in every plugin package)`,
      );
    if (/^src\/(testing|test-helpers|helpers)\//.test(file)) {
      problems.push(
        `${name}: ${file}: test helpers go in src/__fixtures__/ (excluded from the build and the tarball)`,
      );
    }
  }
  const suite = `test${kind === 'connector' ? 'Connector' : 'Destination'}`;
  if (text('contract.test.ts') === undefined)
    missing('contract.test.ts', `the @sluice/testing contract suite (${suite})`);
  else if (!RUNS_SUITE.test(text('contract.test.ts'))) {
    problems.push(
      `${name}: src/contract.test.ts does not run testConnector or testDestination from @sluice/testing`,
    );
  }
  return problems;
}

/**
 * The files under a package's `src/` with their text, for {@link skeletonProblems}.
 *
 * @param {string} dir absolute package folder
 * @returns {Map<string, string>}
 */
export function readSourceFiles(dir) {
  const files = new Map();
  const walk = (sub) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else files.set(rel, readFileSync(join(dir, rel), 'utf8'));
    }
  };
  walk('src');
  return files;
}
