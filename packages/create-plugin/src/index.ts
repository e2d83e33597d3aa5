/**
 * `@sluice/create-plugin`: the generator behind `npm create @sluice/plugin`. It writes a plugin
 * package (a connector, a destination and a transform, contract tests from `@sluice/testing`, a
 * type test, a README) from the templates shipped in this package's `templates/` folder.
 *
 * @example
 * ```ts
 * import { createPlugin } from '@sluice/create-plugin';
 * const { dir, files } = createPlugin({ dir: 'sluice-plugin-acme' });
 * // dir: /abs/path/sluice-plugin-acme, files: ['package.json', 'src/index.ts', ...]
 * ```
 *
 * @packageDocumentation
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { TOOL_VERSIONS } from './versions.js';

export { TOOL_VERSIONS } from './versions.js';

/** This package's version: the version written for every `@sluice/*` dependency. */
export const SCAFFOLD_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** The template folder (src/ and dist/ both sit one level below the package root). */
const TEMPLATE_DIR = new URL('../templates/plugin/', import.meta.url);

/** What the scaffold is told. */
export interface CreatePluginOptions {
  /** Folder to create (relative to `cwd`); must not exist or be empty. */
  dir: string;
  /** npm package name; default: the folder's name. */
  name?: string;
  /** Prefix of the three kinds (`<kind>-sequence`, `<kind>-ndjson`, `<kind>-stamp`); default: from the name. */
  kind?: string;
  /** One line for package.json and the README. */
  description?: string;
  /** Base of a relative `dir`; default `process.cwd()`. */
  cwd?: string;
}

/** The names one scaffold derives from its options. */
export interface PluginNames {
  /** npm package name, also the `definePlugin` name. */
  name: string;
  /** Kind prefix, e.g. `acme`. */
  kind: string;
  /** camelCase of the kind, for identifiers: `acmePlugin`. */
  camel: string;
  description: string;
}

const NPM_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
// The kind syntax @sluice/core accepts (definitionProblems).
const KIND = /^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$/;

/** A problem with the options; the CLI prints its message and exits with code 2. */
export class CreatePluginError extends Error {
  override readonly name = 'CreatePluginError';
}

/**
 * Derives the package name, kind prefix and identifiers: `sluice-plugin-acme` and
 * `@acme/sluice-plugin-crm` give the kinds `acme-*` and `crm-*`.
 *
 * @example
 * ```ts
 * pluginNames({ dir: 'sluice-plugin-acme' }); // { name: 'sluice-plugin-acme', kind: 'acme', camel: 'acme', ... }
 * ```
 */
export function pluginNames(
  options: Pick<CreatePluginOptions, 'dir' | 'name' | 'kind' | 'description'>,
): PluginNames {
  const name = options.name ?? basename(resolve(options.dir));
  if (!NPM_NAME.test(name) || name.length > 214) {
    throw new CreatePluginError(
      `"${name}" is not a valid npm package name (lower case, digits, - . _ ~, optionally @scope/): give one with --name`,
    );
  }
  const bare = name.replace(/^@[^/]+\//, '');
  const kind =
    options.kind ?? (bare.replace(/^sluice-plugin-/, '').replace(/-sluice-plugin$/, '') || bare);
  if (!KIND.test(kind)) {
    throw new CreatePluginError(
      `kind prefix "${kind}" (from the name "${name}") must be lower-case letters, digits and - _ . starting with a letter: give one with --kind`,
    );
  }
  const camel = kind.replace(/[-_.]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return {
    name,
    kind,
    camel,
    description:
      options.description ??
      `A Sluice plugin: the ${kind}-sequence connector, the ${kind}-ndjson destination and the ${kind}-stamp transform.`,
  };
}

/** The generated package.json (written as JSON, not from a template, so versions stay exact). */
function packageJson(names: PluginNames): string {
  const sluice = `^${SCAFFOLD_VERSION}`;
  const pkg = {
    name: names.name,
    version: '0.1.0',
    description: names.description,
    keywords: ['sluice', 'sluice-plugin'],
    type: 'module',
    sideEffects: false,
    engines: { node: '>=22.12' },
    exports: {
      '.': { types: './dist/index.d.ts', import: './dist/index.js' },
      './package.json': './package.json',
    },
    files: ['dist'],
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      typecheck: 'tsc -p tsconfig.json',
      test: 'npm run typecheck && vitest run',
      prepack: 'npm run build',
    },
    dependencies: { valibot: TOOL_VERSIONS.valibot },
    peerDependencies: { '@sluice/core': sluice },
    devDependencies: {
      '@sluice/core': sluice,
      '@sluice/testing': sluice,
      '@types/node': TOOL_VERSIONS['@types/node'],
      typescript: TOOL_VERSIONS.typescript,
      vitest: TOOL_VERSIONS.vitest,
    },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

function templateFiles(dir: URL, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory())
      out.push(...templateFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    else if (entry.name.endsWith('.tmpl')) out.push(`${prefix}${entry.name}`);
  }
  return out.sort();
}

/**
 * The files of a scaffolded plugin, path → text, without writing anything. Templates end in
 * `.tmpl` (so no tool of this repository mistakes them for its own sources or tests) and use the
 * placeholders `__NAME__`, `__KIND__`, `__CAMEL__` and `__DESCRIPTION__`; `_gitignore` becomes
 * `.gitignore` (npm does not publish files named `.gitignore`).
 *
 * @example
 * ```ts
 * Object.keys(pluginFiles(pluginNames({ dir: 'sluice-plugin-acme' })));
 * // ['.gitignore', 'README.md', 'package.json', 'src/config.ts', ...]
 * ```
 */
export function pluginFiles(names: PluginNames): Record<string, string> {
  const files: Record<string, string> = { 'package.json': packageJson(names) };
  for (const template of templateFiles(TEMPLATE_DIR)) {
    const text = readFileSync(new URL(template, TEMPLATE_DIR), 'utf8')
      .replaceAll('__NAME__', names.name)
      .replaceAll('__KIND__', names.kind)
      .replaceAll('__CAMEL__', names.camel)
      .replaceAll('__DESCRIPTION__', names.description);
    const path = template.slice(0, -'.tmpl'.length).replace(/(^|\/)_gitignore$/, '$1.gitignore');
    files[path] = text;
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Writes a plugin package into `options.dir`, which must not exist or be empty (nothing is
 * overwritten). Returns the absolute folder and the paths written.
 *
 * @example
 * ```ts
 * createPlugin({ dir: 'sluice-plugin-acme', description: 'Reads the Acme API' });
 * ```
 */
export function createPlugin(options: CreatePluginOptions): {
  dir: string;
  names: PluginNames;
  files: string[];
} {
  const dir = resolve(options.cwd ?? process.cwd(), options.dir);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new CreatePluginError(
      `${relative(options.cwd ?? process.cwd(), dir) || dir} exists and is not empty: choose a new folder`,
    );
  }
  const names = pluginNames({ ...options, dir });
  const files = pluginFiles(names);
  for (const [path, text] of Object.entries(files)) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  return { dir, names, files: Object.keys(files) };
}
