import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from './cli.js';
import {
  CreatePluginError,
  SCAFFOLD_VERSION,
  TOOL_VERSIONS,
  createPlugin,
  pluginFiles,
  pluginNames,
} from './index.js';

const here = new URL('..', import.meta.url);
const read = (path: string) =>
  JSON.parse(readFileSync(new URL(path, here), 'utf8')) as Record<string, Record<string, string>>;
const work = mkdtempSync(join(tmpdir(), 'create-plugin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('pluginNames', () => {
  it('derives the kind prefix and identifiers from the package name', () => {
    expect(pluginNames({ dir: '/x/sluice-plugin-acme' })).toMatchObject({
      name: 'sluice-plugin-acme',
      kind: 'acme',
      camel: 'acme',
    });
    expect(pluginNames({ dir: 'x', name: '@acme/sluice-plugin-crm-events' })).toMatchObject({
      kind: 'crm-events',
      camel: 'crmEvents',
    });
    expect(pluginNames({ dir: 'x', name: 'shop-sluice-plugin' })).toMatchObject({ kind: 'shop' });
    expect(pluginNames({ dir: 'x', name: 'my-plugin', kind: 'mine' })).toMatchObject({
      name: 'my-plugin',
      kind: 'mine',
    });
  });

  it('refuses names npm or Sluice would refuse, saying which option to give', () => {
    expect(() => pluginNames({ dir: 'My Plugin' })).toThrow(
      /"My Plugin" is not a valid npm package name.*--name/,
    );
    expect(() => pluginNames({ dir: 'x', name: '1password-sluice-plugin' })).toThrow(
      /kind prefix "1password".*--kind/,
    );
    expect(() => pluginNames({ dir: 'x', kind: 'Bad Kind' })).toThrow(CreatePluginError);
  });
});

describe('pluginFiles', () => {
  const files = pluginFiles(
    pluginNames({ dir: 'sluice-plugin-acme', description: 'Reads the Acme API' }),
  );

  it('writes a connector, a destination, a transform, their tests, a type test and a README, in the first-party layout', () => {
    expect(Object.keys(files)).toEqual([
      '.gitignore',
      'README.md',
      'package.json',
      'src/config.ts',
      'src/connector.ts',
      'src/contract.test.ts',
      'src/destination.ts',
      'src/index.ts',
      'src/plugin.test-d.ts',
      'src/plugin.test.ts',
      'src/plugin.ts',
      'src/transform.ts',
      'tsconfig.build.json',
      'tsconfig.json',
    ]);
    for (const [path, text] of Object.entries(files)) expect(text, path).not.toMatch(/__[A-Z]+__/);
    expect(files['src/plugin.ts']).toContain("name: 'sluice-plugin-acme'");
    expect(files['src/plugin.ts']).toContain('export const acmePlugin = definePlugin(');
    expect(files['src/plugin.ts']).toContain('export default acmePlugin;');
    expect(files['src/index.ts']).toContain('export default acmePlugin;');
    expect(files['src/connector.ts']).toContain("kind: 'acme-sequence'");
    expect(files['README.md']).toMatch(/^# sluice-plugin-acme\n\nReads the Acme API\n/);
  });

  it("writes @sluice/* with the scaffold's own version: @sluice/core as peer and dev dependency", () => {
    const pkg = JSON.parse(files['package.json']!) as Record<string, Record<string, string>>;
    expect(SCAFFOLD_VERSION).toBe(read('package.json').version);
    const range = `^${SCAFFOLD_VERSION}`;
    expect(pkg.peerDependencies).toEqual({ '@sluice/core': range });
    expect(pkg.devDependencies).toMatchObject({ '@sluice/core': range, '@sluice/testing': range });
    expect(pkg.dependencies?.['@sluice/core']).toBeUndefined();
    expect(pkg).toMatchObject({
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
      files: ['dist'],
    });
    expect(pkg.scripts).toMatchObject({
      build: 'tsc -p tsconfig.build.json',
      test: 'npm run typecheck && vitest run',
      prepack: 'npm run build',
    });
  });

  it('writes the tool versions this workspace builds and tests with (one release: the same versions)', () => {
    const root = read('../../package.json');
    const core = read('../core/package.json');
    const testing = read('../testing/package.json');
    expect(core.version).toBe(SCAFFOLD_VERSION);
    expect(testing.version).toBe(SCAFFOLD_VERSION);
    expect(TOOL_VERSIONS).toEqual({
      typescript: root.devDependencies!.typescript,
      vitest: root.devDependencies!.vitest,
      '@types/node': root.devDependencies!['@types/node'],
      valibot: core.dependencies!.valibot,
    });
  });

  it('ships its templates', () => {
    expect(read('package.json').files).toContain('templates');
  });
});

describe('createPlugin', () => {
  it('writes into a new or empty folder and refuses a folder with files', () => {
    const { dir, files } = createPlugin({ dir: 'sluice-plugin-acme', cwd: work });
    expect(dir).toBe(join(work, 'sluice-plugin-acme'));
    expect(readFileSync(join(dir, 'src/destination.ts'), 'utf8')).toContain("kind: 'acme-ndjson'");
    expect(files).toHaveLength(14);
    mkdirSync(join(work, 'empty'));
    expect(createPlugin({ dir: 'empty', cwd: work, name: 'sluice-plugin-empty' }).names.kind).toBe(
      'empty',
    );
    mkdirSync(join(work, 'taken'));
    writeFileSync(join(work, 'taken/notes.txt'), 'mine');
    expect(() => createPlugin({ dir: 'taken', cwd: work, name: 'sluice-plugin-taken' })).toThrow(
      /taken exists and is not empty/,
    );
    expect(readFileSync(join(work, 'taken/notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('the create-plugin command (npm create @sluice/plugin)', () => {
  // main() resolves relative folders against the working directory, as the command does.
  const run = (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const error = vi
      .spyOn(console, 'error')
      .mockImplementation((line: string) => void err.push(line));
    const cwd = vi.spyOn(process, 'cwd').mockReturnValue(work);
    try {
      return { status: main(args), stdout: out.join('\n'), stderr: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
      cwd.mockRestore();
    }
  };

  it('creates the folder it is given and prints the next steps', () => {
    const { status, stdout: out } = run(['sluice-plugin-cli', '--description', 'From the CLI']);
    expect(status).toBe(0);
    expect(out).toContain('created sluice-plugin-cli in sluice-plugin-cli (14 files)');
    expect(out).toContain('cd sluice-plugin-cli\n  npm install\n  npm test');
    expect(readFileSync(join(work, 'sluice-plugin-cli/package.json'), 'utf8')).toContain(
      '"description": "From the CLI"',
    );
  });

  it('exits 2 with the usage on bad input, writing nothing', () => {
    const none = run([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('give the folder to create');
    const bad = run(['Bad Name']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('is not a valid npm package name');
    expect(existsSync(join(work, 'Bad Name'))).toBe(false);
    expect(run(['--version']).stdout.trim()).toBe(SCAFFOLD_VERSION);
  });
});
