// Is a package's dist/ built from its current sources? Decided by content, never by mtime: Nx
// restores a cached build with the file times of the restore (or leaves matching outputs as
// they are), git sets source times at checkout, and neither says anything about whether the
// JavaScript in dist/ is what the TypeScript in src/ compiles to. So each source is compiled in
// memory (TypeScript's transpileModule, with the package's own build options) and compared with
// the file in dist/. The packages use `isolatedModules` and `verbatimModuleSyntax`, under which a
// file's output depends on that file alone, so this is exactly what `tsc -p tsconfig.build.json`
// writes. A package that passed is remembered by the SHA-256 of its sources and of its outputs,
// so the next check of unchanged content is a hash, not a compile.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/**
 * @typedef {{ package: string, dir: string }} PackageSpec
 * @typedef {{ sources: string, outputs: string }} FreshEntry
 */

/** Where verified content hashes are kept between runs (never committed). */
export const DEFAULT_CACHE_FILE = 'node_modules/.cache/sluice-docs/fresh-builds.json';

/**
 * The non-test sources of a package and the options its build compiles them with.
 *
 * @param {string} packageDir absolute
 */
function buildInputs(packageDir) {
  const configFile = join(packageDir, 'tsconfig.build.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configFile,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(
          `${configFile}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
        );
      },
    },
  );
  if (!parsed) throw new Error(`cannot read ${configFile}`);
  const rootDir = parsed.options.rootDir ?? join(packageDir, 'src');
  const outDir = parsed.options.outDir ?? join(packageDir, 'dist');
  const type = existsSync(join(packageDir, 'package.json'))
    ? JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).type
    : undefined;
  const options = {
    ...parsed.options,
    // transpileModule cannot look up package.json for `nodenext`: tell it the format directly.
    ...(type === 'module'
      ? { module: ts.ModuleKind.ESNext, moduleDetection: ts.ModuleDetectionKind.Force }
      : {}),
  };
  const sources = parsed.fileNames
    .filter((file) => /\.(c|m)?tsx?$/.test(file) && !/\.d\.(c|m)?ts$/.test(file))
    .sort()
    .map((file) => ({
      file,
      output: join(outDir, relative(rootDir, file)).replace(/\.(c|m)?tsx?$/, (ext) =>
        ext.replace(/ts$|tsx$/, 'js'),
      ),
    }));
  return { options, sources, configFile };
}

/**
 * SHA-256 over `(name, content)` pairs, in order.
 *
 * @param {string} base
 * @param {readonly string[]} files
 */
function hashFiles(base, files) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(relative(base, file)).update('\0');
    hash.update(existsSync(file) ? readFileSync(file) : '\u0000missing').update('\0');
  }
  return hash.digest('hex');
}

/** @param {string} file */
function readCache(file) {
  try {
    return /** @type {Record<string, FreshEntry>} */ (JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return {};
  }
}

/**
 * Problems with the builds the docs generator would import: a package not built, or whose
 * dist/ is not what its current sources compile to. An empty list means every build is current.
 *
 * @param {string} root repository root
 * @param {readonly PackageSpec[]} specs
 * @param {{ cacheFile?: string | false }} [options] where verified hashes are remembered (relative
 *   to `root`; `false`: nowhere)
 * @returns {string[]}
 *
 * @example
 * buildProblems(root, [{ package: '@sluice/core', dir: 'packages/core' }]);
 * // [] or ['@sluice/core is not built from its current sources (src/context.ts …): run `npx nx run @sluice/core:build`']
 */
export function buildProblems(root, specs, options = {}) {
  const cacheFile =
    options.cacheFile === false ? undefined : join(root, options.cacheFile ?? DEFAULT_CACHE_FILE);
  const cache = cacheFile ? readCache(cacheFile) : {};
  let cacheChanged = false;
  const problems = [];
  for (const spec of specs) {
    const packageDir = join(root, spec.dir);
    const rebuild = `run \`npx nx run ${spec.package}:build\` (or \`npx tsc -p ${spec.dir}/tsconfig.build.json\`)`;
    if (!existsSync(join(packageDir, 'dist/index.js'))) {
      problems.push(`${spec.package} is not built: ${rebuild}`);
      continue;
    }
    const { options: compilerOptions, sources, configFile } = buildInputs(packageDir);
    const entry = {
      sources: hashFiles(packageDir, [configFile, ...sources.map((s) => s.file)]),
      outputs: hashFiles(
        packageDir,
        sources.map((s) => s.output),
      ),
    };
    const known = cache[spec.dir];
    if (known && known.sources === entry.sources && known.outputs === entry.outputs) continue;
    const stale = [];
    for (const { file, output } of sources) {
      const built = existsSync(output) ? readFileSync(output, 'utf8') : undefined;
      const expected = ts.transpileModule(readFileSync(file, 'utf8'), {
        compilerOptions,
        fileName: file,
      }).outputText;
      if (built !== expected) stale.push(relative(packageDir, file));
    }
    if (stale.length > 0) {
      const named =
        stale.slice(0, 3).join(', ') + (stale.length > 3 ? ` and ${stale.length - 3} more` : '');
      problems.push(`${spec.package} is not built from its current sources (${named}): ${rebuild}`);
      if (known) {
        delete cache[spec.dir];
        cacheChanged = true;
      }
      continue;
    }
    cache[spec.dir] = entry;
    cacheChanged = true;
  }
  if (cacheFile && cacheChanged) {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(cacheFile, `${JSON.stringify(cache, null, 2)}\n`);
  }
  return problems;
}
