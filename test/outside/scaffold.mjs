#!/usr/bin/env node
// Outside in, the plugin authoring kit (issue 17): docs/connectors/writing-a-plugin.md followed
// word for word as an outside author would, from the packed tarballs, in folders outside the
// repository. The guide's blocks marked `<!-- outside: run -->` are run line by line (cd, npm
// create/install/test/pack/init, mkdir, tar, npx --no-install sluice run), `<!-- outside: file <name> -->`
// blocks are written to the current folder, `<!-- outside: excerpt <path> -->` blocks must be
// the scaffolded plugin's code. Along the way:
//  - every public workspace package is packed (as run.mjs does); `npm create @sluice/plugin`
//    runs in a folder where @sluice/create-plugin is installed from its tarball (npm create uses
//    a locally installed create package before asking the registry: the stand-in for publishing);
//  - `npm install` gets @sluice/* from the tarballs (dependencies and overrides: file:...);
//  - the scaffold writes @sluice/* at its own version; one @sluice/core is installed;
//  - the scaffolded plugin's `npm test` (type test + contract suites) is green and `npm pack`
//    ships dist/ without tests;
//  - in a fresh server project the plugin is loaded by relative path
//    (`plugins: [./sluice-plugin-acme/dist/index.js]`), then installed from its tarball and loaded
//    by package name; each `npx --no-install sluice run demo` (embedded store in the project's data folder)
//    moves 5 records connector → transform → destination through the plugin;
//  - the line count of the scaffolded plugin (source + tests) is printed.
// Run after `npx nx run-many -t build`:  node test/outside/scaffold.mjs   (needs the npm registry or its cache)
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'sluice-scaffold-'));
const PLUGIN = 'sluice-plugin-acme';
const started = Date.now();
let failures = 0;
const check = (ok, what) => {
  if (ok) console.log(`✓ ${what}`);
  else {
    failures++;
    console.error(`✗ ${what}`);
  }
};
const run = (cmd, args, cwd, env = {}) => {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, ...env },
    });
  } catch (error) {
    error.message = `${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`;
    throw error;
  }
};
const execFileAsync = promisify(execFile);
/** {@link run} without blocking: the server project installs while the plugin's tests run. */
const runAsync = (cmd, args, cwd) =>
  execFileAsync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => r.stdout,
    (error) => {
      error.message = `${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`;
      throw error;
    },
  );
const INSTALL = [
  'install',
  '--no-audit',
  '--no-fund',
  '--prefer-offline',
  '--ignore-scripts',
  '--loglevel=error',
];
const stripAnsi = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');
const npmInstall = (cwd, extra = []) => run('npm', [...INSTALL, ...extra], cwd);
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
const seconds = () => `${Math.round((Date.now() - started) / 1000)}s`;

function publicPackages() {
  const workspaces = JSON.parse(run('npm', ['query', '.workspace', '--json'], root));
  return workspaces
    .map((w) => ({
      dir: w.realpath ?? join(root, w.location),
      pkg: readJson(join(w.realpath ?? join(root, w.location), 'package.json')),
    }))
    .filter(({ pkg }) => !pkg.private);
}

/** Every `*.ts` under `dir`, relative paths. */
function tsFiles(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? tsFiles(join(dir, e.name), `${prefix}${e.name}/`)
      : e.name.endsWith('.ts')
        ? [`${prefix}${e.name}`]
        : [],
  );
}

/** The records the plugin's destination wrote under `dir`. */
function written(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line))
    .sort((a, b) => a.id - b.id);
}

const MARKER = /^<!-- outside: (run|file \S+|excerpt \S+) -->$/;

/**
 * The guide's steps, in order: each block after an `<!-- outside: ... -->` marker line (other
 * comment lines may sit between them, like the examples check's partial mark).
 */
function guideSteps(markdown) {
  const lines = markdown.split('\n');
  const steps = [];
  let pending;
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i].trim());
    if (marker) {
      pending = marker[1];
      continue;
    }
    if (pending && /^```/.test(lines[i])) {
      const body = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      const [type, arg] = pending.split(' ');
      steps.push({ type, arg, text: `${body.join('\n')}\n` });
      pending = undefined;
    }
  }
  return steps;
}

try {
  // 1. Pack.
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const byName = {};
  const queue = publicPackages();
  // Four packs at a time: each is mostly waiting on npm's start-up.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [info] = JSON.parse(
          await runAsync(
            'npm',
            ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs, next.dir],
            root,
          ),
        );
        byName[next.pkg.name] = join(tarballs, info.filename);
      }
    }),
  );
  const sluiceDeps = Object.fromEntries(
    Object.entries(byName).map(([name, file]) => [name, `file:${file}`]),
  );
  const scaffoldVersion = readJson(join(root, 'packages/create-plugin/package.json')).version;
  console.log(`  packed ${Object.keys(byName).length} packages (${seconds()})`);

  // 2. Where `npm create @sluice/plugin` runs: a folder with @sluice/create-plugin installed from
  // its tarball (npm create uses a locally installed create package before asking the registry).
  const authoring = join(work, 'authoring');
  mkdirSync(authoring);
  writeJson(join(authoring, 'package.json'), {
    name: 'authoring',
    private: true,
    dependencies: { '@sluice/create-plugin': sluiceDeps['@sluice/create-plugin'] },
  });
  npmInstall(authoring);

  // 3. The guide, block by block, each command as written. `npm install` gets the tarballs for
  // @sluice/* (dependencies and overrides: file:...), standing in for the registry.
  const guide = readFileSync(join(root, 'docs/connectors/writing-a-plugin.md'), 'utf8');
  const steps = guideSteps(guide);
  check(
    steps.filter((s) => s.type === 'run').length >= 4,
    `docs/connectors/writing-a-plugin.md: ${steps.length} blocks to follow`,
  );
  let cwd = authoring;
  let plugin;
  const ran = [];
  const withTarballs = (pkg, names) => {
    const next = { ...pkg, overrides: sluiceDeps };
    for (const field of ['dependencies', 'devDependencies']) {
      if (!pkg[field]) continue;
      next[field] = Object.fromEntries(
        Object.entries(pkg[field]).map(([n, v]) => [n, sluiceDeps[n] ?? v]),
      );
    }
    for (const name of names)
      next.dependencies = { ...next.dependencies, [name]: sluiceDeps[name] };
    return next;
  };
  for (const step of steps) {
    if (step.type === 'file') {
      writeFileSync(join(cwd, step.arg), step.text);
      continue;
    }
    if (step.type === 'excerpt') {
      const file = readFileSync(join(plugin, step.arg), 'utf8');
      check(
        file.includes(step.text),
        `the guide's excerpt of ${step.arg} is the scaffold's code (${step.text.split('\n')[0].trim()} ...)`,
      );
      continue;
    }
    for (const line of step.text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))) {
      const [cmd, ...args] = line.split(/\s+/);
      ran.push(line);
      if (cmd === 'cd') {
        cwd = resolve(cwd, args[0]);
      } else if (cmd === 'npm' && args[0] === 'create') {
        const out = run('npm', args, cwd);
        const name = args[2];
        check(
          out.includes(`created ${name} in ${name}`),
          `${line}: ${out.split('\n').find((l) => l.startsWith('created')) ?? out}`,
        );
        plugin = join(cwd, name);
        const pkg = readJson(join(plugin, 'package.json'));
        check(
          pkg.peerDependencies?.['@sluice/core'] === `^${scaffoldVersion}` &&
            pkg.devDependencies?.['@sluice/core'] === `^${scaffoldVersion}` &&
            pkg.devDependencies?.['@sluice/testing'] === `^${scaffoldVersion}` &&
            pkg.dependencies?.['@sluice/core'] === undefined,
          `the scaffold writes @sluice/core (peer + dev) and @sluice/testing (dev) at ^${scaffoldVersion}, its own version`,
        );
      } else if (cmd === 'npm' && args[0] === 'install') {
        const pkgFile = join(cwd, 'package.json');
        const original = readFileSync(pkgFile, 'utf8');
        const named = args.slice(1).filter((a) => a in sluiceDeps);
        writeJson(pkgFile, withTarballs(JSON.parse(original), named));
        npmInstall(
          cwd,
          args.slice(1).filter((a) => !(a in sluiceDeps)),
        );
        // The plugin publishes the scaffold's package.json, not one pointing at local tarballs.
        if (cwd === plugin) writeFileSync(pkgFile, original);
        const cores = run('find', ['node_modules', '-path', '*@sluice/core/package.json'], cwd)
          .trim()
          .split('\n')
          .filter(Boolean);
        check(
          cores.length === 1,
          `${line} (in ${relative(work, cwd)}): one @sluice/core installed (found ${cores.length}) (${seconds()})`,
        );
      } else if (cmd === 'npm' && args[0] === 'test') {
        let out;
        let green = true;
        try {
          out = stripAnsi(run('npm', args, cwd, { CI: 'true', NO_COLOR: '1' }));
        } catch (error) {
          green = false;
          out = stripAnsi(error.message);
        }
        const summary = out.match(/Tests\s+(\d+) passed \((\d+)\)/);
        check(
          green && summary !== null && summary[1] === summary[2],
          `${line} in the scaffolded plugin is green: ${summary ? `${summary[1]} tests passed` : out}`,
        );
      } else if (cmd === 'npm' && args[0] === 'pack') {
        const tarball = run('npm', args, cwd).trim().split('\n').pop();
        const files = run('tar', ['-tzf', tarball], cwd).trim().split('\n');
        check(
          files.includes('package/dist/index.js') &&
            files.includes('package/dist/index.d.ts') &&
            !files.some((f) => f.includes('.test')),
          `${line} builds and packs ${tarball} (${files.length} files, no tests)`,
        );
      } else if ((cmd === 'npm' && args[0] === 'init') || cmd === 'mkdir' || cmd === 'tar') {
        run(cmd, args, cwd);
      } else if (
        cmd === 'npx' &&
        args[0] === '--no-install' &&
        args[1] === 'sluice' &&
        args[2] === 'run'
      ) {
        const configFile = args[args.indexOf('--config') + 1];
        const config = readFileSync(join(cwd, configFile), 'utf8');
        const entry = /^plugins: \[(.+)\]$/m.exec(config)?.[1];
        const out = run(cmd, args, cwd);
        check(
          /^✓ run \S+ succeeded: \{"read":5,"delivered":5,/m.test(out),
          `plugins: [${entry}]: ${line}: ${out.trim()}`,
        );
        const outDir = /kind: acme-ndjson, dir: (\S+) \}/.exec(config)[1];
        const records = written(join(cwd, outDir));
        const expected = [0, 1, 2, 3, 4].map((id) => ({ id, value: `record ${id}`, via: PLUGIN }));
        check(
          JSON.stringify(records) === JSON.stringify(expected),
          `plugins: [${entry}]: the 5 records went acme-sequence → acme-stamp → acme-ndjson (${records.length} in ${outDir})`,
        );
      } else {
        throw new Error(
          `the guide runs "${line}", which this test does not know how to follow: teach it, or change the guide`,
        );
      }
    }
  }
  const loaded = ran.filter((l) => l.startsWith('npx --no-install sluice run')).length;
  check(
    loaded === 2 &&
      guide.includes(`plugins: [./${PLUGIN}/dist/index.js]`) &&
      guide.includes(`plugins: [${PLUGIN}]`),
    `the guide loads the plugin by path and by name (${loaded} runs)`,
  );

  // 4. Size of what an author starts from.
  const files = tsFiles(join(plugin, 'src'));
  const lines = (f) => readFileSync(join(plugin, 'src', f), 'utf8').split('\n').length - 1;
  const tests = files.filter((f) => /\.test(-d)?\.ts$/.test(f));
  const source = files.filter((f) => !tests.includes(f));
  const count = (list) => list.reduce((n, f) => n + lines(f), 0);
  console.log(
    `  scaffolded plugin: ${count(files)} lines of TypeScript in src/ (source ${count(source)} in ${source.length} files, tests ${count(tests)} in ${tests.length} files)`,
  );
} catch (error) {
  failures++;
  console.error(`✗ ${error.message}`);
} finally {
  if (!process.env.SLUICE_OUTSIDE_KEEP) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}

console.log(`  took ${seconds()}`);
if (failures > 0) {
  console.error(`${failures} scaffold check(s) failed`);
  process.exit(1);
}
console.log('all scaffold checks passed');
