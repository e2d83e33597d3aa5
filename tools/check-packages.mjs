#!/usr/bin/env node
// Checks every publishable workspace package the way a registry consumer would see it:
//  - publint (package.json exports/files are valid and point at real files),
//  - @arethetypeswrong/cli (types resolve for ESM consumers under node16 and bundler),
//  - `npm pack --dry-run`: only intended files ship (dist, non-test sources, docs), with
//    license and repository fields set; LICENSE and CHANGELOG.md are in every tarball;
//  - plugin packages (connectors/*, destinations/*): `@sluice/core` is a peer dependency (and a
//    dev dependency, so the workspace resolves it), never a dependency; the built entry has the
//    one entry shape: the `definePlugin(...)` result as the default and as a named export (in
//    dist/plugin.js too, the same object, where the package exports `./plugin`);
//  - plugin packages have the one source layout (tools/lib/skeleton.mjs: index.ts, plugin.ts,
//    connector.ts/destination.ts with a create… factory, config.ts, errors.ts, contract.test.ts,
//    helpers in __fixtures__/); no package keeps test helpers in src/testing/; a package with a
//    `./plugin` entry (a heavy SDK) imports its implementation in plugin.ts only lazily;
//  - DESIGN §2's direction of dependencies (tools/lib/boundaries.mjs): no package.json
//    dependency and no import in src/ or bin/ of any workspace package goes against it.
// The two source checks run first and need no build.
// Run after `nx run-many -t build`. Exits non-zero on the first category of failure found.
//
//   node tools/check-packages.mjs [package-dir ...]
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { boundaryProblems, readPackageGraph } from './lib/boundaries.mjs';
import { pluginKindOf, readSourceFiles, skeletonProblems } from './lib/skeleton.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Workspace package folders, from `npm query .workspace`. */
function workspaceDirs() {
  const out = execFileSync('npm', ['query', '.workspace', '--json'], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(out).map((w) => w.realpath ?? join(root, w.location));
}

// templates/**.tmpl: the files @sluice/create-plugin scaffolds from (named .tmpl so no tool takes them for sources or tests).
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^CHANGELOG\.md$/,
  /^LICENSE(\.md)?$/,
  /^dist\//,
  /^src\//,
  /^bin\//,
  /^templates\/.+\.tmpl$/,
];
const FORBIDDEN = [/\.test\.ts$/, /\.test-d\.ts$/, /__fixtures__/, /\.tsbuildinfo$/];

const dirs =
  process.argv.length > 2 ? process.argv.slice(2).map((d) => resolve(d)) : workspaceDirs();
let failures = 0;
const fail = (pkg, msg) => {
  failures++;
  console.error(`✗ ${pkg}: ${msg}`);
};

if (!existsSync(join(root, 'LICENSE'))) fail('(root)', 'LICENSE missing at the repository root');

// DESIGN §2 over the whole workspace (an edge is between two packages, whichever were named).
for (const problem of boundaryProblems(readPackageGraph(root, workspaceDirs()))) {
  failures++;
  console.error(`✗ dependency direction: ${problem}`);
}
for (const dir of dirs) {
  // One place for test helpers in every package: src/**/__fixtures__/ (the build, the tarball
  // and tools/lib/boundaries.mjs all know it as test code).
  if (existsSync(join(dir, 'src', 'testing'))) {
    failures++;
    console.error(
      `✗ package layout: ${relative(root, dir)}/src/testing/: test helpers go in src/__fixtures__/`,
    );
  }
  const kind = pluginKindOf(relative(root, dir));
  if (!kind) continue;
  const { name, exports } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const lazy = exports?.['./plugin'] !== undefined;
  for (const problem of skeletonProblems({ name, kind, lazy, files: readSourceFiles(dir) })) {
    failures++;
    console.error(`✗ package layout: ${problem}`);
  }
}

for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  const name = pkg.name;
  if (!existsSync(join(dir, 'dist'))) {
    fail(name, 'no dist/: run `npx nx run-many -t build` first');
    continue;
  }
  if (!pkg.license) fail(name, 'license field missing');
  if (!pkg.repository?.url) fail(name, 'repository field missing');
  if (!existsSync(join(dir, 'README.md'))) fail(name, 'README.md missing');
  if (pkg.engines?.node !== rootPkg.engines.node)
    fail(name, `engines.node must be ${rootPkg.engines.node}`);

  if (!existsSync(join(dir, 'LICENSE')))
    fail(name, 'LICENSE missing (copy the root LICENSE into the package)');
  if (!existsSync(join(dir, 'CHANGELOG.md'))) fail(name, 'CHANGELOG.md missing');
  if (!pkg.files?.includes('CHANGELOG.md'))
    fail(name, '"files" must list CHANGELOG.md (RELEASING.md: the changelog ships)');
  if (!pkg.files?.includes('LICENSE')) fail(name, '"files" must list LICENSE');

  const isPlugin = /[\\/](connectors|destinations)[\\/][^\\/]+$/.test(dir);
  if (isPlugin) {
    const range = pkg.peerDependencies?.['@sluice/core'];
    if (!range)
      fail(name, '@sluice/core must be a peer dependency (DESIGN §11: the host provides it)');
    if (pkg.dependencies?.['@sluice/core'])
      fail(
        name,
        '@sluice/core must not be a dependency (a nested copy would be installed): make it a peer dependency',
      );
    if (range && pkg.devDependencies?.['@sluice/core'] !== range)
      fail(
        name,
        `@sluice/core must also be a dev dependency with the same range (${range}) so the workspace resolves it`,
      );
    // A heavy plugin's `./plugin` entry (the definitions without the implementation) has the
    // same shape, and the very plugin object the index exports.
    const entries = pkg.exports?.['./plugin'] ? ['index.js', 'plugin.js'] : ['index.js'];
    const plugins = [];
    for (const file of entries) {
      try {
        const mod = await import(pathToFileURL(join(dir, 'dist', file)).href);
        const plugin = mod.default;
        plugins.push(plugin);
        if (plugin?.type !== 'plugin')
          fail(name, `dist/${file}: the default export must be the definePlugin(...) result`);
        else if (
          !Object.entries(mod).some(([key, value]) => key !== 'default' && value === plugin)
        ) {
          fail(
            name,
            `dist/${file}: the definePlugin(...) result must also be a named export (e.g. export const slackPlugin)`,
          );
        } else if (plugin.name !== name)
          fail(
            name,
            `dist/${file}: definePlugin name must be the package name, not ${JSON.stringify(plugin.name)}`,
          );
      } catch (error) {
        fail(name, `cannot import dist/${file}: ${error.message}`);
      }
    }
    if (plugins.length === 2 && plugins[0] !== plugins[1])
      fail(name, 'dist/index.js must re-export the plugin of dist/plugin.js, not a second one');
  }

  const publint = spawnSync('npx', ['publint', '--strict', '.'], { cwd: dir, encoding: 'utf8' });
  if (publint.status !== 0) fail(name, `publint:\n${publint.stdout}${publint.stderr}`);

  const attw = spawnSync(
    'npx',
    ['attw', '--pack', '.', '--profile', 'esm-only', '--format', 'ascii'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  if (attw.status !== 0) fail(name, `attw:\n${attw.stdout}${attw.stderr}`);

  const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (pack.status !== 0) {
    fail(name, `npm pack: ${pack.stderr}`);
  } else {
    const files = JSON.parse(pack.stdout)[0].files.map((f) => f.path);
    for (const file of files) {
      if (!ALLOWED.some((re) => re.test(file)) || FORBIDDEN.some((re) => re.test(file))) {
        fail(name, `npm pack would publish an unintended file: ${file}`);
      }
    }
    if (!files.some((f) => f.startsWith('dist/'))) fail(name, 'npm pack contains no dist/ files');
    if (!files.includes('LICENSE')) fail(name, 'npm pack contains no LICENSE');
    if (!files.includes('CHANGELOG.md')) fail(name, 'npm pack contains no CHANGELOG.md');
  }
  if (failures === 0) console.log(`✓ ${name}`);
}

if (failures > 0) {
  console.error(`${failures} package check(s) failed`);
  process.exit(1);
}
console.log('all package checks passed');
