// The first hour of a newcomer, as far as it is text: README's one run command and one test
// command work on an older Node and are the ones CI runs (it extracts them by their markers); no
// instruction anywhere can hand `sluice` to npx without --no-install (a registry package of that
// name would be fetched and run); and no test reads anything from beside the repository.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const readmeCommand = (name: string) =>
  execFileSync('bash', [join(root, 'scripts/ci/readme-command.sh'), name], {
    encoding: 'utf8',
  }).trim();

const SKIP = new Set([
  'node_modules',
  'dist',
  '.git',
  '.nx',
  '.sluice',
  'coverage',
  'out',
  'cache',
  'reference',
]);
/** Every file below the root (relative paths), without installed, built or generated folders. */
function files(dir = root, into: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP.has(entry.name)) files(path, into);
    } else if (entry.isFile()) {
      into.push(relative(root, path));
    }
  }
  return into;
}

describe("README's commands", () => {
  it('are one run command and one test command, each runnable from an older Node', () => {
    expect(readmeCommand('run')).toBe('npx -y -p node@22 npm run quickstart');
    expect(readmeCommand('test')).toBe('npx -y -p node@22 npm test');
  });

  it('are what CI runs, extracted from README so they cannot drift', () => {
    expect(read('.ci/run')).toContain('test_command=$(bash scripts/ci/readme-command.sh test)');
    expect(read('.ci/run')).toContain('bash -c "$test_command"');
    expect(read('.ci/run')).toContain('bash scripts/ci/newcomer.sh');
    expect(read('scripts/ci/quickstart.sh')).toContain(
      'command=$(bash scripts/ci/readme-command.sh run)',
    );
    expect(read('scripts/ci/newcomer.sh')).toContain(
      'command=$(bash "$root/scripts/ci/readme-command.sh" run)',
    );
    expect(read('.github/workflows/ci.yml')).toMatch(/^\s+run: bash \.ci\/run$/m);
  });

  it('are backed by package.json: the quick start and the pretest prepare through the content-hash script', () => {
    const pkg = JSON.parse(read('package.json')) as {
      scripts: Record<string, string>;
      allowScripts: Record<string, boolean>;
    };
    expect(pkg.scripts.quickstart).toBe('node scripts/quickstart.mjs');
    expect(pkg.scripts.pretest).toBe('node scripts/quickstart.mjs --prepare');
    // Install scripts nobody needs are denied, so installs run none of them and print no warning.
    expect(pkg.allowScripts).toEqual({ esbuild: false, nx: false, protobufjs: false });
  });

  it('fails clearly on a missing marker', () => {
    expect(() =>
      execFileSync('bash', [join(root, 'scripts/ci/readme-command.sh'), 'nothing-marked'], {
        stdio: 'pipe',
      }),
    ).toThrow(/README has no "<!-- readme-command: nothing-marked -->"/);
  });
});

describe('the sluice command', () => {
  it('is a committed, executable bin that npm can link before the build', () => {
    const server = JSON.parse(read('apps/server/package.json')) as {
      bin: Record<string, string>;
      files: string[];
    };
    expect(server.bin).toEqual({ sluice: './bin/sluice.js' });
    expect(server.files).toContain('bin');
    const mode = execFileSync('git', ['-C', root, 'ls-files', '-s', 'apps/server/bin/sluice.js'], {
      encoding: 'utf8',
    });
    expect(mode).toMatch(/^100755 /);
    expect(read('apps/server/bin/sluice.js')).toContain(
      "new URL('../dist/cli.js', import.meta.url)",
    );
  });

  it('is never handed to npx (or npm exec) without --no-install in any instruction', () => {
    const self = relative(root, import.meta.filename);
    const text = files().filter(
      (f) =>
        f !== self &&
        /(\.(md|ya?ml|sh|mjs|js|ts|json)|Dockerfile)$/.test(f) &&
        !f.endsWith('package-lock.json'),
    );
    const unsafe: string[] = [];
    for (const file of text) {
      for (const match of read(file).matchAll(
        /\b(?:npx|npm (?:exec|x))((?:\s+--?[\w-]+)*)\s+sluice\b/g,
      )) {
        if (!/\s--no(?:-install)?\b/.test(match[1] ?? '')) unsafe.push(`${file}: ${match[0]}`);
      }
    }
    expect(unsafe).toEqual([]);
  });
});

describe('tests read only the repository', () => {
  it('no test source refers to ../shared or another absolute checkout path', () => {
    const self = relative(root, import.meta.filename);
    const sources = files().filter(
      (f) =>
        f !== self &&
        (/\.test(-d)?\.ts$/.test(f) ||
          /(^|\/)(test|__fixtures__)\/.*\.ts$/.test(f) ||
          f === 'vitest.config.ts'),
    );
    expect(sources.length).toBeGreaterThan(50);
    const outside = sources.filter((f) =>
      /\.\.\/shared\b|\/work\/|conformance\/jsonpath/.test(read(f)),
    );
    expect(outside).toEqual([]);
  });
});
