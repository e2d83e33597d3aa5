// The built server loads the SDK of a first-party plugin only when a configuration makes an
// instance of its kind (issues 19 and 20): every kind is registered and validated from its
// definition alone, and `create` imports the implementation. Child processes of the built
// server, with a resolve hook (__fixtures__/record-packages.mjs) listing the npm packages each
// one loaded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const dist = join(root, 'apps/server/dist');
const recorder = join(import.meta.dirname, '__fixtures__/record-packages.mjs');

/** The SDKs of the heavy plugins (and what they pull in), by plugin kind. */
const SDKS = {
  bigquery: ['@google-cloud/bigquery'],
  ga4: ['@google-analytics/data', 'google-gax', '@grpc/grpc-js'],
  hubspot: ['@hubspot/api-client'],
  email: ['nodemailer'],
  s3: ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'],
  slack: ['@slack/web-api'],
} as const;
const ALL_SDKS = Object.values(SDKS).flat();

/** Runs node with `args` in a fresh folder; its exit, output and the npm packages it loaded. */
function runRecorded(args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lazy-'));
  const out = join(dir, 'packages.json');
  const child = spawnSync(process.execPath, ['--import', pathToFileURL(recorder).href, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SLUICE_TEST_PACKAGES_OUT: out },
    timeout: 120_000,
  });
  expect(child.status, child.stdout + child.stderr).toBe(0);
  const packages = JSON.parse(readFileSync(out, 'utf8')) as string[];
  return { stdout: child.stdout, dir, packages };
}

/** Runs an ES module script against the built server's index (imported as `server`). */
function script(body: string) {
  const index = pathToFileURL(join(dist, 'index.js')).href;
  const text = `import * as server from ${JSON.stringify(index)};\nimport { createPluginContext } from '@sluice/core';\n${body}`;
  return runRecorded(['--input-type=module', '-e', text]);
}

beforeAll(() => {
  expect(existsSync(join(dist, 'cli.js')), 'build the server first: npx nx run-many -t build').toBe(
    true,
  );
});

describe('plugin implementations load with their first instance', () => {
  it('the registry has every kind and validates their configs without loading an SDK', () => {
    const { stdout, packages } = script(`
      const registry = server.createRegistry();
      const issues = async (kind, config) => {
        try {
          await registry.createDestination(kind, config, createPluginContext(), ['destinations', 'out']);
        } catch (error) {
          return error.issues;
        }
      };
      console.log(JSON.stringify({
        connectors: registry.kinds('connector'),
        destinations: registry.kinds('destination'),
        s3: await issues('s3', {}),
        unknown: await issues('nope', {}),
      }));
    `);
    const result = JSON.parse(stdout) as {
      connectors: string[];
      destinations: string[];
      s3: { path: string; message: string }[];
      unknown: { path: string; message: string }[];
    };
    expect(result.connectors).toEqual(expect.arrayContaining(['bigquery', 'ga4', 'hubspot']));
    expect(result.destinations).toEqual(expect.arrayContaining(['email', 's3', 'slack']));
    expect(result.s3).toEqual([expect.objectContaining({ path: 'destinations.out.bucket' })]);
    expect(result.unknown[0]!.message).toMatch(/email.*s3.*slack/);
    // Validation ran from the definitions alone.
    expect(packages).toContain('valibot');
    expect(packages.filter((name) => ALL_SDKS.includes(name as never))).toEqual([]);
  });

  it('creating an s3 destination loads the AWS SDK and no other plugin SDK', () => {
    const { packages } = script(`
      const registry = server.createRegistry();
      const s3 = await registry.createDestination(
        's3',
        { bucket: 'exports', region: 'us-east-1', endpoint: 'http://127.0.0.1:9' },
        createPluginContext(),
      );
      await s3.close?.();
    `);
    expect(packages).toEqual(expect.arrayContaining([...SDKS.s3]));
    const others = ALL_SDKS.filter((name) => !(SDKS.s3 as readonly string[]).includes(name));
    expect(packages.filter((name) => others.includes(name as never))).toEqual([]);
  });

  it('`sluice run` of a sample-to-file pipeline loads no plugin SDK', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lazy-run-'));
    const config = join(dir, 'one.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        destinations: {
          out: { kind: 'file', root: join(dir, 'out'), path: 'one.ndjson', mode: 'append' },
        },
        pipelines: {
          one: { source: { kind: 'sample', total: 1 }, routes: [{ name: 'all', to: ['out'] }] },
        },
      }),
    );
    const { stdout, packages } = runRecorded([
      join(dist, 'cli.js'),
      'run',
      'one',
      '--config',
      config,
      '--data-dir',
      join(dir, 'db'),
    ]);
    expect(stdout).toMatch(/succeeded: .*"delivered":1/);
    expect(readFileSync(join(dir, 'out/one.ndjson'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(packages).toContain('@electric-sql/pglite');
    expect(packages.filter((name) => ALL_SDKS.includes(name as never))).toEqual([]);
  }, 120_000);
});
