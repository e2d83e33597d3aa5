// What an installed `sluice` says about itself and accepts as the README documents it: the real
// version, `validate --config <file>`, `schema --config <file>` with the file's plugins, and
// plugins named by package name with the one entry shape (named + default definePlugin export).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, loadPlugins } from '../src/index.js';
import { configDir } from './helpers.js';

const root = resolve(import.meta.dirname, '../../..');
const cli = join(root, 'apps/server/dist/cli.js');
const sluice = (args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

const yaml = (dir: string, plugins = '') => `
${plugins}
store: { dataDir: ${dir}/data }
destinations:
  out: { kind: file, root: ${dir}/out, path: 'run-{{batch.id}}.ndjson', format: ndjson }
pipelines:
  demo:
    source: { kind: sample, perRun: 3 }
    routes: [{ name: all, to: [out] }]
`;

beforeAll(() => {
  expect(existsSync(cli), 'build the server first: npx nx run-many -t build').toBe(true);
});

describe('sluice CLI, as installed', () => {
  it('--version prints the version of @sluice/server', () => {
    const { version } = JSON.parse(
      readFileSync(join(root, 'apps/server/package.json'), 'utf8'),
    ) as { version: string };
    expect(version).not.toBe('0.0.0');
    const result = sluice(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('validate --config <file> is accepted, like validate <file>', () => {
    const { dir, config } = configDir('');
    writeFileSync(config, yaml(dir));
    const byOption = sluice(['validate', '--config', config, '--no-environment', '--json']);
    expect(byOption.status, byOption.stderr).toBe(0);
    expect(JSON.parse(byOption.stdout)).toMatchObject({ ok: true, pipelines: 1, destinations: 1 });
    const byArgument = sluice(['validate', config, '--no-environment', '--json']);
    expect(byArgument.stdout).toBe(byOption.stdout);
    const missing = sluice(['validate', '--config', join(dir, 'nope.yaml')]);
    expect(missing.status).toBe(2);
  });

  it('schema --config <file> includes the kinds of the plugins that file loads', () => {
    const { dir, config } = configDir('');
    writeFileSync(config, yaml(dir, 'plugins: [sluice-plugin-http-json]'));
    const without = sluice(['schema']);
    const withPlugins = sluice(['schema', '--config', config]);
    expect(withPlugins.status, withPlugins.stderr).toBe(0);
    expect(without.stdout).not.toContain('"http-json"');
    expect(withPlugins.stdout).toContain('"http-json"');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, yaml(dir, 'plugins: [sluice-plugin-does-not-exist]'));
    const failed = sluice(['schema', '--config', broken]);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain('sluice-plugin-does-not-exist');
  });

  it('every first-party plugin package loads by package name (named + default definePlugin export)', async () => {
    const names = [
      '@sluice/connectors-bigquery',
      '@sluice/connectors-ga4',
      '@sluice/connectors-hubspot',
      '@sluice/connectors-sample',
      '@sluice/destinations-database',
      '@sluice/destinations-email',
      '@sluice/destinations-file',
      '@sluice/destinations-prometheus',
      '@sluice/destinations-s3',
      '@sluice/destinations-slack',
      '@sluice/destinations-webhook',
    ];
    for (const name of names) {
      const mod = (await import(name)) as Record<string, unknown> & {
        default?: { type?: string; name?: string };
      };
      expect(mod.default?.type, name).toBe('plugin');
      expect(mod.default?.name).toBe(name);
      expect(
        Object.entries(mod).some(([key, value]) => key !== 'default' && value === mod.default),
        `${name}: named export`,
      ).toBe(true);
    }
    // Loaded by name into a registry without the built-ins: every kind registers.
    const { PluginRegistry } = await import('@sluice/core');
    const registry = new PluginRegistry();
    await loadPlugins(registry, names, root);
    expect(registry.plugins().sort()).toEqual([...names].sort());
    expect(createRegistry().plugins().length).toBeGreaterThanOrEqual(names.length);
  });
});
