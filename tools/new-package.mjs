#!/usr/bin/env node
// Creates a new package in the one layout every @sluice/* package follows.
//
//   node tools/new-package.mjs <dir> <npm-name> "<description>"
//   node tools/new-package.mjs packages/destinations/file @sluice/destinations-file "Write records to files"
//
// It is for packages of this repository only (the layout extends the workspace's tsconfig and
// vitest config). A third-party plugin starts from the published scaffold instead:
// `npm create @sluice/plugin <name>` (packages/create-plugin, docs/connectors/writing-a-plugin.md).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv.slice(2).some((arg) => arg.startsWith('--'))) {
  console.error('tools/new-package.mjs takes no options. For a plugin outside this repository: npm create @sluice/plugin <name>');
  process.exit(2);
}
const [dir, name, description = ''] = process.argv.slice(2);
if (!dir || !name) {
  console.error('usage: node tools/new-package.mjs <dir> <npm-name> "<description>"');
  process.exit(2);
}
const pkgDir = resolve(root, dir);
if (existsSync(join(pkgDir, 'package.json'))) {
  console.error(`${dir} already has a package.json; refusing to overwrite it`);
  process.exit(1);
}
const up = relative(pkgDir, root) || '.';
const repoDir = relative(root, pkgDir);

/** Files written for a new package; each key is a path inside the package. */
export function packageFiles() {
  return {
    'package.json': JSON.stringify(
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
        files: ['dist', 'src', '!src/**/*.test.ts', '!src/**/*.test-d.ts', '!src/**/__fixtures__'],
        scripts: {
          build: 'tsc -p tsconfig.build.json',
          typecheck: 'tsc -p tsconfig.json',
          lint: 'eslint src',
          test: `vitest run --config ${up}/vitest.config.ts`,
        },
        publishConfig: { access: 'public', provenance: true },
      },
      null,
      2,
    ) + '\n',
    'tsconfig.json': JSON.stringify(
      {
        extends: `${up}/tsconfig.base.json`,
        compilerOptions: { noEmit: true },
        include: ['src'],
      },
      null,
      2,
    ) + '\n',
    'tsconfig.build.json': JSON.stringify(
      {
        extends: './tsconfig.json',
        compilerOptions: { noEmit: false, rootDir: 'src', outDir: 'dist', customConditions: [] },
        exclude: ['src/**/*.test.ts', 'src/**/*.test-d.ts', 'src/**/__fixtures__'],
      },
      null,
      2,
    ) + '\n',
    'src/index.ts': `/**\n * ${description}\n *\n * @packageDocumentation\n */\nexport {};\n`,
    'README.md': `# ${name}\n\n${description}\n\n\`\`\`sh\nnpm install ${name}\n\`\`\`\n`,
    'CHANGELOG.md': `# Changelog\n\n## 0.1.0\n\n- First release.\n`,
  };
}

for (const [file, text] of Object.entries(packageFiles())) {
  const target = join(pkgDir, file);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
}
console.log(`created ${name} in ${repoDir}`);
