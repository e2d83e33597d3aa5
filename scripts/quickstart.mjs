#!/usr/bin/env node
// `npm run quickstart`, and the preparation step of `npm test` (`--prepare`).
//
// Makes this clone ready — `npm ci`, then `nx run-many -t build` — running each step only when
// what it depends on changed since it last succeeded; then, unless --prepare, starts the
// reference server with examples/quickstart/sluice.yaml in this process. "Changed" is decided by
// content hashes, never by mtimes (a checkout or an Nx cache restore sets mtimes arbitrarily).
// The hashes of the last successful steps are stamps in node_modules/.cache/sluice/ (gitignored,
// and gone with node_modules, which forces both steps):
//  - install: package-lock.json and the dependency fields of every workspace's package.json.
//    When that hash differs from the stamp, node_modules is checked against the lockfile before
//    anything is removed: if every package.json agrees with package-lock.json and npm's record
//    of the installed tree (node_modules/.package-lock.json) holds exactly the locked packages —
//    someone ran `npm install` or `npm ci` by hand — it is adopted; otherwise `npm ci` runs.
//  - build: the install hash, every file of every workspace package (except node_modules and
//    dist), tsconfig.base.json and nx.json; a workspace without its dist/ also rebuilds. The build
//    is Nx's, so even then only the packages whose inputs changed are compiled again.
// A restart with nothing changed costs the hashing (a fraction of a second), not minutes.
//
//   node scripts/quickstart.mjs [--prepare] [sluice serve options...]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const prepareOnly = args[0] === '--prepare';
const serveArgs = prepareOnly ? args.slice(1) : args;
const started = performance.now();
const log = (message) => console.error(`[quickstart] ${message}`);

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  log(`Sluice needs Node.js >= 22.12; this is ${process.version}.`);
  log(`Without changing this machine's Node, run it on npm's node@22 package:`);
  log(`  npx -y -p node@22 ${prepareOnly ? 'npm test' : 'npm run quickstart'}`);
  process.exit(1);
}
process.chdir(root);

const stampDir = join(root, 'node_modules/.cache/sluice');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.sluice', '.nx', 'coverage']);
const DEPENDENCY_FIELDS = [
  'dependencies',
  'devDependencies',
  'optionalDependencies',
  'peerDependencies',
];

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const readJson = (file) => JSON.parse(readFileSync(join(root, file), 'utf8'));
/** JSON with sorted keys at the first level (dependency maps), so key order does not matter. */
const canonical = (value) =>
  value === undefined ? '' : JSON.stringify(Object.fromEntries(Object.entries(value).sort()));

/** Workspace folders (relative to the root) from package.json `workspaces` (`dir/*` or `dir`). */
function workspaceDirs() {
  const dirs = [];
  for (const pattern of readJson('package.json').workspaces ?? []) {
    if (pattern.endsWith('/*')) {
      const parent = pattern.slice(0, -2);
      for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
        if (entry.isDirectory() && existsSync(join(root, parent, entry.name, 'package.json'))) {
          dirs.push(`${parent}/${entry.name}`);
        }
      }
    } else if (existsSync(join(root, pattern, 'package.json'))) {
      dirs.push(pattern);
    }
  }
  return dirs.sort();
}

/** path -> content hash of every file below `dir` (symbolic links by their target). */
function hashTree(dir, into) {
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) hashTree(path, into);
    } else if (entry.isSymbolicLink()) {
      into[path] = sha256(`link:${readlinkSync(join(root, path))}`);
    } else if (entry.isFile() && !entry.name.endsWith('.tsbuildinfo')) {
      into[path] = sha256(readFileSync(join(root, path)));
    }
  }
  return into;
}

/** One hash over a { name: hash } map, plus the map (to tell what changed). */
function fingerprint(parts) {
  const keys = Object.keys(parts).sort();
  return { hash: sha256(keys.map((k) => `${k}\0${parts[k]}\n`).join('')), parts };
}

function readStamp(name) {
  try {
    return readJson(`node_modules/.cache/sluice/${name}.json`);
  } catch {
    return undefined;
  }
}

function writeStamp(name, { hash, parts }) {
  mkdirSync(stampDir, { recursive: true });
  const stamp = { hash, at: new Date().toISOString(), node: process.version, parts };
  writeFileSync(join(stampDir, `${name}.json`), `${JSON.stringify(stamp)}\n`);
}

/** Why the build must run again after `stamp`, or undefined when it saw exactly `current`. */
function changedSince(stamp, current) {
  if (!stamp) return 'no build by this script in this clone yet';
  if (stamp.hash === current.hash) return undefined;
  const all = new Set([...Object.keys(stamp.parts ?? {}), ...Object.keys(current.parts)]);
  const changed = [...all].filter((k) => stamp.parts?.[k] !== current.parts[k]);
  const shown = changed.slice(0, 4).join(', ');
  return `${changed.length} input(s) changed: ${shown}${changed.length > 4 ? ', ...' : ''}`;
}

/**
 * Why node_modules must be installed again, or undefined when it holds what package-lock.json
 * locks: every package.json's dependencies agree with the lockfile's entry for it (else `npm ci`
 * runs and reports the disagreement), and npm's record of the installed tree has every locked
 * package with the same entry and no other (locked packages missing from it are fine only when
 * optional: other platforms' binaries).
 */
function installMismatch(workspaces) {
  if (!existsSync(join(root, 'node_modules/.package-lock.json'))) return 'node_modules is missing';
  const locked = readJson('package-lock.json').packages ?? {};
  for (const dir of ['', ...workspaces]) {
    const pkg = readJson(join(dir, 'package.json'));
    const entry = locked[dir];
    const name = `${dir || '.'}/package.json`;
    if (!entry) return `${name} is not in package-lock.json`;
    const field = DEPENDENCY_FIELDS.find((f) => canonical(pkg[f]) !== canonical(entry[f]));
    if (field) return `${name} ${field} differ from package-lock.json`;
  }
  const installed = readJson('node_modules/.package-lock.json').packages ?? {};
  for (const [path, entry] of Object.entries(locked)) {
    if (path === '') continue;
    if (!(path in installed)) {
      if (entry.optional || entry.devOptional) continue;
      return `${path} is not installed`;
    }
    if (JSON.stringify(installed[path]) !== JSON.stringify(entry)) {
      return `the installed ${path} differs from package-lock.json`;
    }
  }
  const extra = Object.keys(installed).find((path) => !(path in locked));
  return extra ? `${extra} is installed but not in package-lock.json` : undefined;
}

function run(command, commandArgs, env = {}) {
  const result = spawnSync(command, commandArgs, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    log(`failed (exit ${result.status ?? result.signal}): ${commandArgs.join(' ')}`);
    process.exit(result.status || 1);
  }
}

/** npm: the one running this script (`npm run` sets npm_execpath), on this Node. */
function npm(npmArgs) {
  const execPath = process.env.npm_execpath;
  if (execPath && /\.[cm]?js$/.test(execPath)) run(process.execPath, [execPath, ...npmArgs]);
  else run(process.platform === 'win32' ? 'npm.cmd' : 'npm', npmArgs);
}

const workspaces = workspaceDirs();

// 1. Dependencies.
const installParts = { 'package-lock.json': sha256(readFileSync(join(root, 'package-lock.json'))) };
for (const dir of ['', ...workspaces]) {
  const pkg = readJson(join(dir, 'package.json'));
  installParts[`${dir || '.'}/package.json`] = sha256(
    DEPENDENCY_FIELDS.map((f) => canonical(pkg[f])).join('\n'),
  );
}
const install = fingerprint(installParts);
const installStamp = readStamp('install');
const installed = existsSync(join(root, 'node_modules/.package-lock.json'));
if (installed && installStamp?.hash === install.hash) {
  log('dependencies: up to date');
} else {
  const why = installMismatch(workspaces);
  if (why) {
    log(`installing the dependencies with npm ci (${why})`);
    npm(['ci', '--no-audit', '--no-fund']);
  } else {
    log('dependencies: node_modules matches package-lock.json');
  }
  writeStamp('install', install);
}

// 2. Build.
const buildParts = { install: install.hash };
for (const file of ['tsconfig.base.json', 'nx.json']) {
  buildParts[file] = sha256(readFileSync(join(root, file)));
}
for (const dir of workspaces) hashTree(dir, buildParts);
const build = fingerprint(buildParts);
const unbuilt = workspaces.filter(
  (dir) =>
    readJson(join(dir, 'package.json')).scripts?.build && !existsSync(join(root, dir, 'dist')),
);
const buildWhy = unbuilt.length
  ? `${unbuilt.length} package(s) without dist/: ${unbuilt.slice(0, 3).join(', ')}${unbuilt.length > 3 ? ', ...' : ''}`
  : changedSince(readStamp('build'), build);
if (buildWhy) {
  log(`building the packages (${buildWhy})`);
  // No Nx daemon unless asked for: a one-off build should not leave a background process behind.
  const nx = join(root, 'node_modules/nx', readJson('node_modules/nx/package.json').bin.nx);
  run(process.execPath, [nx, 'run-many', '-t', 'build', '--outputStyle=static'], {
    NX_DAEMON: process.env.NX_DAEMON ?? 'false',
  });
  writeStamp('build', build);
} else {
  log('build: up to date');
}
log(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (prepareOnly) process.exit(0);

// 3. The reference server, in this process (Ctrl-C stops it after finishing running work).
const cli = join(root, 'apps/server/dist/cli.js');
log('starting the server with examples/quickstart/sluice.yaml');
process.argv = [
  process.execPath,
  cli,
  'serve',
  '--config',
  'examples/quickstart/sluice.yaml',
  ...serveArgs,
];
await import(pathToFileURL(cli).href);
