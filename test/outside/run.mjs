#!/usr/bin/env node
// Outside in (issue 17): the packages as a registry consumer gets them. Packs every public
// workspace package into a temporary folder, installs only those tarballs (and their registry
// dependencies) into fresh projects outside the repository, and checks there:
//  - every tarball ships LICENSE and CHANGELOG.md;
//  - one copy of @sluice/core is installed: plugins take it as a peer dependency;
//  - every plugin package loads by package name (named + default definePlugin export), and the
//    host's isRetryable/instanceof recognise errors across the installed packages;
//  - the installed `sluice` prints its real version and validates a config given with --config;
//  - a strict TypeScript consumer (skipLibCheck: false) compiles a file importing every package
//    (store and scheduler describe PGlite and pg-boss with interfaces of their own, because those
//    libraries' .d.ts do not compile strictly);
//  - every runnable code block of README.md, packages/**/README.md and apps/server/README.md runs
//    there as written, and the TypeScript ones type-check strictly (markers and services:
//    lib/code-blocks.mjs, lib/readme-examples.mjs);
//  - one destination installed alone: its footprint (packages, MB) is printed;
//  - @sluice/core installed alone: no liquidjs (an optional peer), the main entry loads, the
//    template subpath is a FatalError naming the package; its footprint is printed.
// Run after `npx nx run-many -t build`:  node test/outside/run.mjs   (needs the npm registry or its
// cache, and PostgreSQL on 127.0.0.1:5432). SLUICE_OUTSIDE_KEEP=1 keeps the temporary folder.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runReadmeExamples } from './lib/readme-examples.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'sluice-outside-'));
let failures = 0;
const check = (ok, what) => {
  if (ok) console.log(`✓ ${what}`);
  else {
    failures++;
    console.error(`✗ ${what}`);
  }
};
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
const npmInstall = (cwd, extra = []) =>
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
      '--loglevel=error',
      ...extra,
    ],
    cwd,
  );

function publicPackages() {
  const workspaces = JSON.parse(run('npm', ['query', '.workspace', '--json'], root));
  return workspaces
    .map((w) => ({
      dir: w.realpath ?? join(root, w.location),
      pkg: JSON.parse(
        readFileSync(join(w.realpath ?? join(root, w.location), 'package.json'), 'utf8'),
      ),
    }))
    .filter(({ pkg }) => !pkg.private);
}

function footprint(dir) {
  let packages = 0;
  let bytes = 0;
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        bytes += statSync(p).size;
        if (entry.name === 'package.json' && /node_modules[\\/](@[^\\/]+[\\/])?[^\\/@]+$/.test(d))
          packages++;
      }
    }
  };
  walk(join(dir, 'node_modules'));
  return { packages, mb: Math.round((bytes / 1024 / 1024) * 10) / 10 };
}

try {
  // 1. Pack.
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packages = publicPackages();
  const byName = {};
  for (const { dir, pkg } of packages) {
    const [info] = JSON.parse(
      run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs, dir], root),
    );
    byName[pkg.name] = join(tarballs, info.filename);
    const files = info.files.map((f) => f.path);
    check(
      files.includes('LICENSE') && files.includes('CHANGELOG.md'),
      `${pkg.name}: tarball ships LICENSE and CHANGELOG.md (${Math.round(info.size / 1024)} kB packed)`,
    );
  }
  const example = JSON.parse(
    readFileSync(join(root, 'examples/plugin-connector/package.json'), 'utf8'),
  );
  check(
    example.private === true && !(example.name in byName),
    `the example plugin (${example.name}) is private and not packed`,
  );

  // 2. A fresh project with every tarball.
  const all = join(work, 'all');
  mkdirSync(all);
  const deps = Object.fromEntries(
    Object.entries(byName).map(([name, file]) => [name, `file:${file}`]),
  );
  // overrides: a tarball's dependency on a sibling resolves to the sibling's tarball, not the registry.
  writeFileSync(
    join(all, 'package.json'),
    JSON.stringify(
      { name: 'outside-all', private: true, type: 'module', dependencies: deps, overrides: deps },
      null,
      2,
    ),
  );
  npmInstall(all);
  const cores = run('find', ['node_modules', '-path', '*@sluice/core/package.json'], all)
    .trim()
    .split('\n')
    .filter(Boolean);
  check(cores.length === 1, `one copy of @sluice/core installed (found ${cores.length})`);

  // 3. Plugins by package name, errors across packages, the CLI.
  const probe = `
import { PluginRegistry, FatalError, isRetryable } from '@sluice/core';
const names = ${JSON.stringify(Object.keys(byName).filter((n) => /^@sluice\/(connectors|destinations)-/.test(n)))};
const registry = new PluginRegistry();
for (const name of names) {
  const mod = await import(name);
  if (mod.default?.type !== 'plugin' || !Object.entries(mod).some(([k, v]) => k !== 'default' && v === mod.default)) throw new Error(name + ': no named + default definePlugin export');
  registry.register(mod.default);
}
const { RunFailedError } = await import('@sluice/router');
if (isRetryable(new RunFailedError('x')) || !(new RunFailedError('x') instanceof FatalError)) throw new Error('router errors not recognised by core');
console.log(registry.plugins().length);
`;
  writeFileSync(join(all, 'probe.mjs'), probe);
  const registered = run(process.execPath, ['probe.mjs'], all).trim();
  check(
    registered ===
      String(
        Object.keys(byName).filter((n) => /^@sluice\/(connectors|destinations)-/.test(n)).length,
      ),
    `every plugin package registers by name (${registered})`,
  );

  const serverVersion = JSON.parse(
    readFileSync(join(root, 'apps/server/package.json'), 'utf8'),
  ).version;
  const bin = join(all, 'node_modules/.bin/sluice');
  check(
    run(bin, ['--version'], all).trim() === serverVersion,
    `installed sluice --version prints ${serverVersion}`,
  );
  writeFileSync(
    join(all, 'sluice.yaml'),
    `store: { dataDir: ./data }\ndestinations:\n  out: { kind: file, root: ./out, path: 'run-{{batch.id}}.ndjson', format: ndjson }\npipelines:\n  demo:\n    source: { kind: sample, perRun: 3 }\n    routes: [{ name: all, to: [out] }]\n`,
  );
  const validated = JSON.parse(run(bin, ['validate', '--config', 'sluice.yaml', '--json'], all));
  check(
    validated.ok === true && validated.pipelines === 1,
    'installed sluice validate --config sluice.yaml',
  );

  // 4. A strict TypeScript consumer.
  npmInstall(all, [
    '--no-save',
    `typescript@${JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')).version}`,
    '@types/node@22',
  ]);
  const every = Object.keys(byName);
  writeFileSync(
    join(all, 'index.ts'),
    every.map((n, i) => `import * as m${i} from '${n}';\nvoid m${i};`).join('\n') + '\n',
  );
  writeFileSync(
    join(all, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      },
      files: ['index.ts'],
    }),
  );
  let tscOutput = '';
  try {
    run(process.execPath, [join(all, 'node_modules/typescript/bin/tsc'), '-p', '.'], all);
  } catch (error) {
    tscOutput = `${error.stdout ?? ''}${error.stderr ?? ''}`;
  }
  check(
    tscOutput === '',
    `tsc --noEmit with skipLibCheck: false over all ${every.length} packages${tscOutput ? `:\n${tscOutput}` : ''}`,
  );

  // 5. Every runnable README example, in the project with every tarball.
  const examples = await runReadmeExamples({ root, project: all, check });
  console.log(
    `  README examples: ${examples.passed}/${examples.run} ran, ${examples.notRunnable} marked not-runnable`,
  );

  // 6. One destination alone.
  const alone = join(work, 'alone');
  mkdirSync(alone);
  const slack = {
    '@sluice/destinations-slack': `file:${byName['@sluice/destinations-slack']}`,
    '@sluice/core': `file:${byName['@sluice/core']}`,
  };
  writeFileSync(
    join(alone, 'package.json'),
    JSON.stringify(
      { name: 'outside-alone', private: true, type: 'module', dependencies: slack },
      null,
      2,
    ),
  );
  npmInstall(alone);
  const mod = await import(
    pathToFileURL(join(alone, 'node_modules/@sluice/destinations-slack/dist/index.js')).href
  );
  check(
    mod.default?.type === 'plugin',
    '@sluice/destinations-slack alone (with its peer @sluice/core) loads',
  );
  const { packages: count, mb } = footprint(alone);
  console.log(
    `  footprint of @sluice/destinations-slack + @sluice/core alone: ${count} packages, ${mb} MB`,
  );

  // 7. @sluice/core alone: liquidjs is an optional peer (issue 14), installed only by the packages
  // that render templates; the main entry loads without it, the template subpath names it.
  const coreAlone = join(work, 'core-alone');
  mkdirSync(coreAlone);
  writeFileSync(
    join(coreAlone, 'package.json'),
    JSON.stringify(
      {
        name: 'outside-core-alone',
        private: true,
        type: 'module',
        dependencies: { '@sluice/core': `file:${byName['@sluice/core']}` },
      },
      null,
      2,
    ),
  );
  npmInstall(coreAlone);
  check(
    !existsSync(join(coreAlone, 'node_modules/liquidjs')),
    '@sluice/core alone does not install liquidjs (an optional peer)',
  );
  writeFileSync(
    join(coreAlone, 'probe.mjs'),
    `const core = await import('@sluice/core');
const error = await import('@sluice/core/template').then(() => undefined, (e) => e);
console.log(JSON.stringify({ main: typeof core.defineDestination, fatal: error instanceof core.FatalError, message: error?.message }));
`,
  );
  const probed = JSON.parse(run(process.execPath, ['probe.mjs'], coreAlone));
  check(probed.main === 'function', '@sluice/core alone: the main entry loads without liquidjs');
  check(
    probed.fatal && probed.message?.includes('npm install liquidjs'),
    `@sluice/core alone: @sluice/core/template is a FatalError naming liquidjs (${probed.message})`,
  );
  const core = footprint(coreAlone);
  console.log(`  footprint of @sluice/core alone: ${core.packages} packages, ${core.mb} MB`);
} finally {
  if (!process.env.SLUICE_OUTSIDE_KEEP) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}

if (failures > 0) {
  console.error(`${failures} outside check(s) failed`);
  process.exit(1);
}
console.log('all outside checks passed');
