// DESIGN.md §2, the direction of dependencies, as data and one pure check. tools/check-packages.mjs
// runs it on every workspace package (package.json dependency fields and the import statements of
// src/ and bin/); test/tools/boundaries.test.ts runs it on made-up package graphs.
//
//   server -> scheduler, store, router, connectors-*, destinations-*, config -> core
//   server -> dashboard (the built single-page app; it imports no Sluice package)
//
// Connectors and destinations import only core (and their SDK); the router never imports a
// concrete destination, the scheduler never a concrete connector; nothing imports apps/server; a
// package that needs something from a sibling at its own level moves that thing into core.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * What each layer's code may import besides itself: `may` for shipped code, `testMay` in addition
 * for tests and their fixtures. Every layer above core may use `@sluice/testing` in its tests.
 */
export const LAYER_RULES = {
  core: { may: [], testMay: [] },
  config: { may: ['core'], testMay: ['testing'] },
  router: { may: ['core'], testMay: ['testing'] },
  // The scheduler's own tests run it on the real store (PGlite and PostgreSQL); its code only sees
  // the store through the SchedulerStores interface.
  scheduler: { may: ['core'], testMay: ['testing', 'store'] },
  store: { may: ['core'], testMay: ['testing'] },
  testing: { may: ['core'], testMay: [] },
  connector: { may: ['core'], testMay: ['testing'] },
  destination: { may: ['core'], testMay: ['testing'] },
  server: {
    may: [
      'core',
      'config',
      'router',
      'scheduler',
      'store',
      'connector',
      'destination',
      'dashboard',
    ],
    testMay: ['testing'],
  },
  // The web dashboard: a built single-page app the server serves; it speaks only the REST API,
  // so its code imports no Sluice package (DESIGN §11).
  dashboard: { may: [], testMay: [] },
  // The outsider scaffold writes files; it imports no Sluice package.
  'create-plugin': { may: [], testMay: [] },
  // A plugin outside @sluice (examples/): the same rule as a first-party plugin.
  'third-party-plugin': { may: ['core'], testMay: ['testing'] },
};

const NAMED_LAYERS = {
  '@sluice/core': 'core',
  '@sluice/config': 'config',
  '@sluice/router': 'router',
  '@sluice/scheduler': 'scheduler',
  '@sluice/store': 'store',
  '@sluice/testing': 'testing',
  '@sluice/server': 'server',
  '@sluice/dashboard': 'dashboard',
  '@sluice/create-plugin': 'create-plugin',
};

/**
 * The layer of a package name, or `undefined` for a `@sluice/*` name DESIGN §2 does not place.
 *
 * @param {string} name
 * @param {{ thirdParty?: boolean }} [options] `thirdParty`: the package is a plugin outside @sluice
 * @returns {string | undefined}
 */
export function layerOf(name, options = {}) {
  if (NAMED_LAYERS[name]) return NAMED_LAYERS[name];
  if (/^@sluice\/connectors-[a-z0-9-]+$/.test(name)) return 'connector';
  if (/^@sluice\/destinations-[a-z0-9-]+$/.test(name)) return 'destination';
  if (!name.startsWith('@sluice/') && options.thirdParty) return 'third-party-plugin';
  return undefined;
}

/** The package a bare specifier names (`@sluice/core/template` -> `@sluice/core`), or undefined for a relative or `node:` one. */
export function packageOfSpecifier(specifier) {
  if (
    specifier.startsWith('.') ||
    specifier.startsWith('/') ||
    specifier.startsWith('node:') ||
    specifier.startsWith('#')
  )
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Whether a file (path relative to its package) is test code: tests and their helpers in `__fixtures__/`. */
export function isTestFile(file) {
  const path = file.split(sep).join('/');
  return /\.test(-d)?\.[cm]?[jt]s$/.test(path) || /(^|\/)__fixtures__\//.test(path);
}

const PROD_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/**
 * @typedef {{ file: string, specifier: string }} ImportEdge  `file` relative to the package folder
 * @typedef {{
 *   name: string,
 *   dir: string,
 *   thirdParty?: boolean,
 *   manifest: { dependencies?: object, peerDependencies?: object, optionalDependencies?: object, devDependencies?: object },
 *   imports: ImportEdge[],
 * }} PackageNode  `dir`: the package folder relative to the repository root
 */

/**
 * Every back edge and undeclared edge in a package graph, one sentence each naming the package,
 * the file and the rule. Only workspace packages are judged: an import of an npm package that is
 * not a node of the graph (an SDK, a driver) is none of DESIGN §2's business.
 *
 * @param {PackageNode[]} packages
 * @returns {string[]}
 */
export function boundaryProblems(packages) {
  const problems = [];
  const byName = new Map(packages.map((p) => [p.name, p]));
  const layers = new Map();
  for (const pkg of packages) {
    const layer = layerOf(pkg.name, { thirdParty: pkg.thirdParty });
    if (!layer)
      problems.push(
        `${pkg.name} (${pkg.dir}): no layer in DESIGN §2 for this package: place it in tools/lib/boundaries.mjs (LAYER_RULES) and DESIGN.md`,
      );
    layers.set(pkg.name, layer);
  }
  const allowed = (from, to, test) => {
    const rule = LAYER_RULES[layers.get(from)];
    const target = layers.get(to);
    if (!rule || !target) return true; // reported above
    return rule.may.includes(target) || (test && rule.testMay.includes(target));
  };
  const why = (from, to, test) => {
    const rule = LAYER_RULES[layers.get(from)];
    const list = [...rule.may, ...(test ? rule.testMay : [])];
    const may =
      list.length > 0
        ? `${test ? 'its tests' : 'it'} may import only ${list.join(', ')}`
        : 'it imports no Sluice package';
    return `${layers.get(from)} -> ${layers.get(to)} is not an edge of DESIGN §2 (${may})`;
  };

  for (const pkg of packages) {
    if (!layers.get(pkg.name)) continue;
    const manifest = pkg.manifest ?? {};
    for (const field of [...PROD_FIELDS, 'devDependencies']) {
      for (const dep of Object.keys(manifest[field] ?? {})) {
        if (dep === pkg.name || !byName.has(dep)) continue;
        const test = field === 'devDependencies';
        if (!allowed(pkg.name, dep, test))
          problems.push(
            `${pkg.name}: package.json ${field} lists ${dep}: ${why(pkg.name, dep, test)}`,
          );
      }
    }
    for (const { file, specifier } of pkg.imports) {
      const test = isTestFile(file);
      if (specifier.startsWith('.')) {
        const target = relative(pkg.dir, join(pkg.dir, dirname(file), specifier));
        if (target === '..' || target.startsWith('..' + sep) || target.startsWith('../')) {
          problems.push(
            `${pkg.name}: ${file} imports ${specifier}, a path outside the package: import the package by name (DESIGN §2)`,
          );
        }
        continue;
      }
      const dep = packageOfSpecifier(specifier);
      if (!dep || dep === pkg.name || !byName.has(dep)) continue;
      if (!allowed(pkg.name, dep, test)) {
        problems.push(`${pkg.name}: ${file} imports ${specifier}: ${why(pkg.name, dep, test)}`);
        continue;
      }
      const declared = test
        ? [...PROD_FIELDS, 'devDependencies'].some((f) => manifest[f]?.[dep])
        : PROD_FIELDS.some((f) => manifest[f]?.[dep]);
      if (!declared) {
        problems.push(
          `${pkg.name}: ${file} imports ${specifier} but package.json does not list ${dep} in ${test ? 'any dependency field' : 'dependencies or peerDependencies'}`,
        );
      }
    }
  }
  return problems;
}

const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js)$/;

/**
 * The import, export-from and dynamic-import specifiers of every source file under `src/` and
 * `bin/` of a package (comments and strings that only look like imports are not counted).
 *
 * @param {string} dir absolute package folder
 * @returns {ImportEdge[]}
 */
export function collectImports(dir) {
  const edges = [];
  const walk = (sub) => {
    let entries;
    try {
      entries = readdirSync(join(dir, sub), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = join(sub, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist') walk(rel);
      } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        const info = ts.preProcessFile(readFileSync(join(dir, rel), 'utf8'), true, true);
        for (const imported of info.importedFiles)
          edges.push({ file: rel.split(sep).join('/'), specifier: imported.fileName });
      }
    }
  };
  walk('src');
  walk('bin');
  return edges;
}

/**
 * The package graph of workspace folders, ready for {@link boundaryProblems}.
 *
 * @param {string} root repository root
 * @param {string[]} dirs absolute package folders
 * @returns {PackageNode[]}
 */
export function readPackageGraph(root, dirs) {
  return dirs.map((dir) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const rel = relative(root, resolve(dir)).split(sep).join('/');
    return {
      name: manifest.name,
      dir: rel,
      // examples/ holds plugins written the way an outsider would: judged as plugins.
      thirdParty: rel.startsWith('examples/'),
      manifest,
      imports: collectImports(dir),
    };
  });
}
