// Third-party plugins named in sluice.yaml are loaded by package name, checked, registered, and
// their kinds work end to end through the server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import { createRegistry, loadPlugins, startSluice, type SluiceServer } from '../src/index.js';
import { configDir, eventually } from './helpers.js';
import { validateServerConfig } from '../src/runtime/validation.js';

const root = resolve(import.meta.dirname, '../../..');
const pluginDist = join(root, 'examples/plugin-connector/dist/index.js');

describe('plugin loading', () => {
  beforeAll(() => {
    expect(existsSync(pluginDist), 'build first: npx nx run-many -t build').toBe(true);
  });

  it('registers a plugin package by name, with its kinds', async () => {
    const registry = createRegistry();
    await loadPlugins(registry, ['sluice-plugin-http-json'], root);
    expect(registry.plugins()).toContain('sluice-plugin-http-json');
    expect(registry.kinds('connector')).toContain('http-json');
  });

  it('names the plugin entry for a missing package and a non-plugin package; a plugin loaded twice is registered once', async () => {
    const issue = async (names: string[]) => {
      try {
        await loadPlugins(createRegistry(), names, root);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).issues[0]!;
      }
      throw new Error('expected a ConfigError');
    };
    expect(await issue(['sluice-plugin-does-not-exist'])).toEqual({
      path: 'plugins[0]',
      message:
        'cannot find plugin package "sluice-plugin-does-not-exist" (install it next to sluice.yaml or in the working directory)',
    });
    expect((await issue(['yaml'])).message).toBe(
      'plugin "yaml" must export definePlugin(...) as its default export',
    );
    const registry = createRegistry();
    await loadPlugins(registry, ['sluice-plugin-http-json', 'sluice-plugin-http-json'], root);
    await loadPlugins(registry, ['sluice-plugin-http-json'], root);
    expect(registry.plugins().filter((name) => name === 'sluice-plugin-http-json')).toHaveLength(1);
    // Listing it twice is the configuration's mistake, reported by validation.
    const { config } = configDir('plugins: [sluice-plugin-http-json, sluice-plugin-http-json]\n');
    const { issues } = await validateServerConfig(readFileSync(config, 'utf8'), {
      registry: createRegistry(),
      baseDir: root,
    });
    expect(issues).toEqual([
      {
        path: 'plugins[1]',
        message: 'plugin "sluice-plugin-http-json" is listed twice (also plugins[0])',
        line: 1,
        column: 36,
      },
    ]);
  });
});

describe('a plugin connector through the server', () => {
  let sluice: SluiceServer;
  let api: ReturnType<typeof createServer>;
  let out: string;

  beforeAll(async () => {
    // A paginated JSON API: 3 pages of 10 items, cursor in the body.
    api = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const after = Number(url.searchParams.get('after') ?? 0);
      const items = Array.from({ length: 10 }, (_, i) => ({ id: after + i + 1 }));
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          data: { items },
          meta: { next: after + 10 < 30 ? String(after + 10) : null },
        }),
      );
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const port = (api.address() as AddressInfo).port;
    const { dir, config } = configDir('');
    out = join(dir, 'out');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      config,
      `
store: { dataDir: ${join(dir, 'data')} }
plugins: [sluice-plugin-http-json]
destinations:
  files: { kind: file, root: ${out}, path: 'items-{{batch.id}}.ndjson', format: ndjson }
pipelines:
  items:
    source:
      kind: http-json
      url: http://127.0.0.1:${port}/items
      ssrf: { allow: [127.0.0.1] } # the test API listens on loopback: opted in explicitly
      recordsPath: data.items
      pagination: { style: cursor, cursorParam: after, nextCursorPath: meta.next }
    routes:
      - { name: all, to: [files] }
`,
    );
    // Plugins resolve from the config's folder first, then the working directory (the repo).
    sluice = await startSluice({ configPath: config, port: 0, host: '127.0.0.1', logger: false });
  }, 120_000);

  afterAll(async () => {
    await sluice?.close();
    await new Promise((r) => api?.close(r));
  });

  it('reads every page through the plugin and delivers it', async () => {
    const { runId } = await sluice.scheduler.enqueue({ pipeline: 'items', trigger: 'api' });
    const run = await eventually(async () => {
      const r = await sluice.store.runs.get(runId);
      return r && ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    }, 60_000);
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    const ids = readdirSync(out).flatMap((f) =>
      readFileSync(join(out, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: number }).id),
    );
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
