#!/usr/bin/env node
// Creates a new package in the one layout every @sluice/* package follows.
//
//   node tools/new-package.mjs <dir> <npm-name> "<description>"
//   node tools/new-package.mjs packages/destinations/file @sluice/destinations-file "Write records to files"
//
// A folder under packages/connectors/ or packages/destinations/ gets the one plugin layout that
// tools/check-packages.mjs enforces (tools/lib/skeleton.mjs): src/index.ts, src/plugin.ts,
// src/connector.ts or src/destination.ts with its create… factory, src/config.ts, src/errors.ts
// (destinations), src/contract.test.ts, around a small working example to replace.
//
// It is for packages of this repository only (the layout extends the workspace's tsconfig and
// vitest config). A third-party plugin starts from the published scaffold instead:
// `npm create @sluice/plugin <name>` (packages/create-plugin, docs/connectors/writing-a-plugin.md).
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pluginSources } from './lib/plugin-skeleton.mjs';
import { pluginKindOf } from './lib/skeleton.mjs';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Files written for a new package; each key is a path inside the package.
 *
 * @param {{ dir: string, name: string, description?: string, root?: string }} options
 *   `dir`: the package folder relative to `root` (default: this repository)
 * @returns {Record<string, string>}
 */
export function packageFiles({ dir, name, description = '', root = workspaceRoot }) {
  const pkgDir = resolve(root, dir);
  const up = relative(pkgDir, root) || '.';
  const repoDir = relative(root, pkgDir);
  const kind = pluginKindOf(repoDir);
  const plugin = kind
    ? pluginSources({ kind, folder: basename(repoDir), packageName: name, description })
    : undefined;
  return {
    'package.json':
      JSON.stringify(
        {
          name,
          version: '0.1.0',
          description,
          license: 'Apache-2.0',
          type: 'module',
          sideEffects: false,
          engines: { node: '>=22.12' },
          repository: {
            type: 'git',
            url: 'git+https://github.com/sluice-dev/sluice.git',
            directory: repoDir,
          },
          exports: {
            '.': {
              '@sluice/source': './src/index.ts',
              types: './dist/index.d.ts',
              import: './dist/index.js',
            },
            './package.json': './package.json',
          },
          files: [
            'dist',
            'LICENSE',
            'CHANGELOG.md',
            'src',
            '!src/**/*.test.ts',
            '!src/**/*.test-d.ts',
            '!src/**/__fixtures__',
          ],
          scripts: {
            build: 'tsc -p tsconfig.build.json',
            typecheck: 'tsc -p tsconfig.json',
            lint: 'eslint src',
            test: `vitest run --config ${up}/vitest.config.ts`,
          },
          publishConfig: { access: 'public', provenance: true },
          // A plugin gets @sluice/core from its host (DESIGN §11): a peer dependency, and a dev
          // dependency so the workspace resolves it.
          ...(plugin
            ? {
                dependencies: { valibot: '^1.5.0' },
                devDependencies: { '@sluice/core': '^0.1.0', '@sluice/testing': '^0.1.0' },
                peerDependencies: { '@sluice/core': '^0.1.0' },
              }
            : {}),
        },
        null,
        2,
      ) + '\n',
    'tsconfig.json':
      JSON.stringify(
        {
          extends: `${up}/tsconfig.base.json`,
          compilerOptions: { noEmit: true },
          include: ['src'],
        },
        null,
        2,
      ) + '\n',
    'tsconfig.build.json':
      JSON.stringify(
        {
          extends: './tsconfig.json',
          compilerOptions: { noEmit: false, rootDir: 'src', outDir: 'dist', customConditions: [] },
          exclude: ['src/**/*.test.ts', 'src/**/*.test-d.ts', 'src/**/__fixtures__'],
        },
        null,
        2,
      ) + '\n',
    'src/index.ts': `/**\n * ${description}\n *\n * @packageDocumentation\n */\nexport {};\n`,
    ...plugin,
    'README.md': `# ${name}\n\n${description}\n\n\`\`\`sh\nnpm install ${name}\n\`\`\`\n`,
    'CHANGELOG.md': `# Changelog\n\n## 0.1.0\n\n- First release.\n`,
  };
}

function main() {
  if (process.argv.slice(2).some((arg) => arg.startsWith('--'))) {
    console.error(
      'tools/new-package.mjs takes no options. For a plugin outside this repository: npm create @sluice/plugin <name>',
    );
    process.exit(2);
  }
  const [dir, name, description = ''] = process.argv.slice(2);
  if (!dir || !name) {
    console.error('usage: node tools/new-package.mjs <dir> <npm-name> "<description>"');
    process.exit(2);
  }
  const pkgDir = resolve(workspaceRoot, dir);
  if (existsSync(join(pkgDir, 'package.json'))) {
    console.error(`${dir} already has a package.json; refusing to overwrite it`);
    process.exit(1);
  }
  for (const [file, text] of Object.entries(packageFiles({ dir, name, description }))) {
    const target = join(pkgDir, file);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  // tools/check-packages.mjs wants the licence in every package (and so in every tarball).
  copyFileSync(join(workspaceRoot, 'LICENSE'), join(pkgDir, 'LICENSE'));
  console.log(`created ${name} in ${relative(workspaceRoot, pkgDir)}`);
}

// Run as a command; imported (test/tools/skeleton.test.ts), it only provides packageFiles.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
