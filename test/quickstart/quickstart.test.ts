// scripts/quickstart.mjs (`npm run quickstart`, and `npm test`'s pretest) decides by content
// hashes whether to run `npm ci` and the build. These tests run the real script with --prepare in
// a small throwaway workspace whose npm (npm_execpath) and nx are recording fakes, so they show
// what a first run, a restart and each kind of change make it do.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

const LOCK = {
  name: 'fake',
  lockfileVersion: 3,
  packages: {
    '': { name: 'fake', workspaces: ['packages/*'], devDependencies: { nx: '1.0.0' } },
    'node_modules/a': { resolved: 'packages/a', link: true },
    'node_modules/nx': { version: '1.0.0', dev: true },
    'node_modules/@nx/other-platform': { version: '1.0.0', dev: true, optional: true },
    'packages/a': { name: 'a', version: '1.0.0', dependencies: { nx: '1.0.0' } },
  },
};

// `npm ci`: installs what the lockfile says (npm's record of it, and an nx whose build writes
// every package's dist/) and logs the call.
const FAKE_NPM = `
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
appendFileSync('calls.log', 'npm ' + process.argv.slice(2).join(' ') + '\\n');
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
rmSync('node_modules', { recursive: true, force: true });
mkdirSync('node_modules/nx', { recursive: true });
const { '': _root, 'node_modules/@nx/other-platform': _optional, ...installed } = lock.packages;
writeFileSync('node_modules/.package-lock.json', JSON.stringify({ name: 'fake', packages: installed }));
writeFileSync('node_modules/nx/package.json', JSON.stringify({ name: 'nx', bin: { nx: './bin/nx.js' } }));
mkdirSync('node_modules/nx/bin');
writeFileSync('node_modules/nx/bin/nx.js', [
  "import { appendFileSync, mkdirSync } from 'node:fs';",
  "appendFileSync('calls.log', 'nx ' + process.argv.slice(2).join(' ') + ' daemon=' + process.env.NX_DAEMON + '\\\\n');",
  "mkdirSync('packages/a/dist', { recursive: true });",
].join('\\n'));
`;

let dir: string;
// The script's own environment, without an NX_DAEMON choice (it then turns the daemon off).
const { NX_DAEMON: _daemon, ...environment } = process.env;

function write(path: string, text: string) {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), text);
}
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Runs the script; returns its log lines and the npm / nx calls it made. */
function prepare() {
  rmSync(join(dir, 'calls.log'), { force: true });
  const result = spawnSync(process.execPath, [join(dir, 'scripts/quickstart.mjs'), '--prepare'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...environment, npm_execpath: join(dir, 'fake-npm.mjs') },
  });
  let calls: string[];
  try {
    calls = readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n');
  } catch {
    calls = [];
  }
  return { status: result.status, log: result.stderr, calls };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-quickstart-'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(root, 'scripts/quickstart.mjs'), join(dir, 'scripts/quickstart.mjs'));
  write('fake-npm.mjs', FAKE_NPM);
  write(
    'package.json',
    json({
      name: 'fake',
      private: true,
      workspaces: ['packages/*'],
      devDependencies: { nx: '1.0.0' },
    }),
  );
  write('package-lock.json', json(LOCK));
  write('tsconfig.base.json', '{}\n');
  write('nx.json', '{}\n');
  write(
    'packages/a/package.json',
    json({ name: 'a', version: '1.0.0', scripts: { build: 'tsc' }, dependencies: { nx: '1.0.0' } }),
  );
  write('packages/a/src/index.ts', 'export const a = 1;\n');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/quickstart.mjs --prepare', () => {
  it('installs and builds on a fresh clone, then does neither on a restart', () => {
    const first = prepare();
    expect(first.status, first.log).toBe(0);
    expect(first.log).toContain(
      '[quickstart] installing the dependencies with npm ci (node_modules is missing)',
    );
    expect(first.log).toContain(
      '[quickstart] building the packages (1 package(s) without dist/: packages/a)',
    );
    expect(first.calls).toEqual([
      'npm ci --no-audit --no-fund',
      'nx run-many -t build --outputStyle=static daemon=false',
    ]);

    const restart = prepare();
    expect(restart.status, restart.log).toBe(0);
    expect(restart.log).toContain('[quickstart] dependencies: up to date');
    expect(restart.log).toContain('[quickstart] build: up to date');
    expect(restart.log).toMatch(/\[quickstart\] ready in \d+\.\d s/);
    expect(restart.calls).toEqual([]);
  });

  it('rebuilds when a source changes, by content: a new mtime alone changes nothing', () => {
    expect(prepare().status).toBe(0);
    const file = join(dir, 'packages/a/src/index.ts');
    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    expect(prepare()).toMatchObject({ status: 0, calls: [] });

    writeFileSync(file, 'export const a = 2;\n');
    const changed = prepare();
    expect(changed.log).toContain('[quickstart] dependencies: up to date');
    expect(changed.log).toContain(
      '[quickstart] building the packages (1 input(s) changed: packages/a/src/index.ts)',
    );
    expect(changed.calls).toEqual(['nx run-many -t build --outputStyle=static daemon=false']);
    expect(prepare().calls).toEqual([]);
  });

  it('rebuilds a package whose dist/ is gone', () => {
    expect(prepare().status).toBe(0);
    rmSync(join(dir, 'packages/a/dist'), { recursive: true });
    const result = prepare();
    expect(result.log).toContain('without dist/: packages/a');
    expect(result.calls).toEqual(['nx run-many -t build --outputStyle=static daemon=false']);
  });

  it('adopts a node_modules installed by hand that matches package-lock.json, without npm ci', () => {
    expect(prepare().status).toBe(0);
    rmSync(join(dir, 'node_modules/.cache'), { recursive: true });
    const result = prepare();
    expect(result.status, result.log).toBe(0);
    expect(result.log).toContain(
      '[quickstart] dependencies: node_modules matches package-lock.json',
    );
    expect(result.calls).toEqual(['nx run-many -t build --outputStyle=static daemon=false']);
    expect(prepare().calls).toEqual([]);
  });

  it('runs npm ci when the lockfile changes and the installed tree no longer matches it', () => {
    expect(prepare().status).toBe(0);
    const lock = structuredClone(LOCK);
    lock.packages['node_modules/nx'].version = '1.0.1';
    write('package-lock.json', json(lock));
    const result = prepare();
    expect(result.log).toContain(
      'installing the dependencies with npm ci (the installed node_modules/nx differs from package-lock.json)',
    );
    expect(result.calls[0]).toBe('npm ci --no-audit --no-fund');
    // A new install can change what the build sees, so the build runs (Nx skips what is unchanged).
    expect(result.calls[1]).toBe('nx run-many -t build --outputStyle=static daemon=false');
  });

  it('leaves node_modules alone when the lockfile changed but the tree already matches it (npm install ran)', () => {
    expect(prepare().status).toBe(0);
    const lock = structuredClone(LOCK);
    lock.packages['node_modules/nx'].version = '1.0.1';
    write('package-lock.json', json(lock));
    const recorded = JSON.parse(readFileSync(join(dir, 'node_modules/.package-lock.json'), 'utf8'));
    recorded.packages['node_modules/nx'].version = '1.0.1';
    write('node_modules/.package-lock.json', JSON.stringify(recorded));
    const result = prepare();
    expect(result.log).toContain(
      '[quickstart] dependencies: node_modules matches package-lock.json',
    );
    expect(result.calls).toEqual(['nx run-many -t build --outputStyle=static daemon=false']);
  });

  it('runs npm ci (which then reports the disagreement) when a package.json no longer agrees with the lockfile', () => {
    expect(prepare().status).toBe(0);
    write(
      'packages/a/package.json',
      json({
        name: 'a',
        version: '1.0.0',
        scripts: { build: 'tsc' },
        dependencies: { nx: '1.0.0', yaml: '2.0.0' },
      }),
    );
    const result = prepare();
    expect(result.log).toContain(
      'installing the dependencies with npm ci (packages/a/package.json dependencies differ from package-lock.json)',
    );
    expect(result.calls[0]).toBe('npm ci --no-audit --no-fund');
  });

  it('does not reinstall for a package.json change outside its dependencies (a script, a description)', () => {
    expect(prepare().status).toBe(0);
    write(
      'packages/a/package.json',
      json({
        name: 'a',
        version: '1.0.0',
        description: 'A',
        scripts: { build: 'tsc', lint: 'eslint src' },
        dependencies: { nx: '1.0.0' },
      }),
    );
    const result = prepare();
    expect(result.log).toContain('[quickstart] dependencies: up to date');
    expect(result.calls).toEqual(['nx run-many -t build --outputStyle=static daemon=false']);
  });

  it('stops with a failed npm ci and records nothing, so the next run tries again', () => {
    write(
      'fake-npm.mjs',
      "import { appendFileSync } from 'node:fs'; appendFileSync('calls.log', 'npm failed\\n'); process.exit(3);\n",
    );
    const failed = prepare();
    expect(failed.status).toBe(3);
    expect(failed.log).toContain('[quickstart] failed (exit 3): ');
    expect(prepare().calls).toEqual(['npm failed']);
  });
});
