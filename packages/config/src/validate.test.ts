import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import { testRegistry } from './__fixtures__/registry.js';
import {
  configOrThrow,
  validateConfig,
  validateConfigSync,
  validationError,
  type ConfigCheck,
} from './validate.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-config-validate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = (extra = '') => `destinations:
  out: { kind: database, url: postgres://db/app, table: t }
pipelines:
  daily:
    source: { kind: ga4, propertyId: "1", credentials: "\${env:GA4_KEY}" }
    routes: [{ name: all, to: [out] }]
${extra}`;

describe('validateConfig: one pipeline, every problem at once', () => {
  it('reports five different mistakes together, each with its named path, line and column', async () => {
    const text = [
      'server:',
      '  bodyLimitBytes: 1e20', // range
      'destinations:',
      '  out: { kind: database, url: "postgres://app:inline-password@db/app", table: t }', // secrets policy
      'pipelines:',
      '  daily:',
      '    source: { kind: ga4, propertyId: "1", credentials: "${env:GA4_KEY}" }',
      '    schedule: { cron: "0 99 * * *" }', // cron
      `    webhook: { verify: standard-webhooks, secret: "\${env:HOOK}" }`, // secret format (resolved value)
      '    routes: [{ name: all, to: [slak] }]', // reference
    ].join('\n');
    const result = await validateConfig(text, {
      registry: testRegistry(),
      env: { GA4_KEY: 'k', HOOK: 'whsec_not base64!' },
    });
    expect(result.ok).toBe(false);
    expect(result.issues.map(({ path, line, column }) => ({ path, line, column }))).toEqual([
      { path: 'server.bodyLimitBytes', line: 2, column: 19 },
      { path: 'destinations.out.url', line: 4, column: 31 },
      { path: 'pipelines.daily.schedule.cron', line: 8, column: 23 },
      { path: 'pipelines.daily.webhook.secret', line: 9, column: 51 },
      { path: 'pipelines.daily.routes[0].to[0]', line: 10, column: 32 },
    ]);
    const [body, plaintext, cron, secret, to] = result.issues.map((i) => i.message);
    expect(body).toBe('must be at most 67108864, got 100000000000000000000');
    expect(plaintext).toContain('plaintext password');
    expect(plaintext).not.toContain('inline-password');
    expect(cron).toMatch(/^invalid cron expression "0 99 \* \* \*"/);
    expect(secret).toBe(
      'a standard-webhooks secret must be "whsec_" followed by base64 key bytes (as the sender issued it)',
    );
    expect(secret).not.toContain('not base64!');
    expect(to).toContain('unknown destination "slak"');
    // The thrown form keeps the position in each message, for callers that print messages only.
    expect(validationError(result).message).toContain(
      'pipelines.daily.schedule.cron: invalid cron expression "0 99 * * *"',
    );
    expect(validationError(result).issues[0]).toMatchObject({
      path: 'server.bodyLimitBytes',
      line: 2,
      column: 19,
      message: expect.stringMatching(/\(line 2, column 19\)$/),
    });
  });

  it('names map entries by their key, never by an index', async () => {
    const result = await validateConfig(base('    schedule: { cron: "@sometimes" }'), {
      registry: testRegistry(),
      env: { GA4_KEY: 'k' },
    });
    expect(result.issues.map((i) => i.path)).toEqual(['pipelines.daily.schedule.cron']);
  });

  it('accepts every cron form the scheduler fires: nicknames, 5, 6 and 7 fields', () => {
    for (const cron of [
      '@daily',
      '@hourly',
      '@weekly',
      '@monthly',
      '@yearly',
      '@annually',
      '@midnight',
      '0 8 * * *',
      '*/10 * * * * *',
      '0 0 8 * * * 2099',
    ]) {
      const result = validateConfigSync(
        base(`    schedule: { cron: "${cron}", timezone: Europe/Berlin }`),
        { registry: testRegistry(), env: { GA4_KEY: 'k' } },
      );
      expect(result.issues, cron).toEqual([]);
    }
  });

  it('refuses inline secrets in the sections the server stores (what serve would refuse), unless told to allow them', () => {
    const text = base().replace(
      'credentials: "${env:GA4_KEY}"',
      'credentials: inline-service-account-key',
    );
    expect(validateConfigSync(text, { registry: testRegistry() }).issues).toEqual([
      expect.objectContaining({
        path: 'pipelines.daily.source.credentials',
        line: 5,
        message: expect.stringContaining('store a reference such as ${env:NAME}'),
      }),
    ]);
    expect(
      validateConfigSync(text, { registry: testRegistry(), plaintextSecrets: 'allow' }).ok,
    ).toBe(true);
    // The server's own sections (store.url, server.apiKeys) are not stored: inline values there are the file's business.
    expect(
      validateConfigSync({
        server: { apiKeys: [{ name: 'ops', key: 'inline-key-1234567890', scopes: ['admin'] }] },
      }).ok,
    ).toBe(true);
  });

  it('accepts a base64 Standard Webhooks secret and any hubspot/slack secret', () => {
    for (const [verify, secret] of [
      ['standard-webhooks', SECRET],
      ['hubspot-v3', 'app-secret'],
      ['slack', 'not-base64!'],
    ]) {
      const result = validateConfigSync(
        base(`    webhook: { verify: ${verify}, secret: "\${env:S}" }`),
        { registry: testRegistry(), env: { GA4_KEY: 'k', S: secret! } },
      );
      expect(result.issues, verify).toEqual([]);
    }
  });

  it('runs the caller checks on every pipeline, even when another part of the file is broken, once per place', () => {
    const seen: string[] = [];
    const check: ConfigCheck = {
      pipeline: ({ name, pipeline }) => {
        seen.push(`${name}:${pipeline ? 'valid' : 'invalid'}`);
        return [
          { path: `pipelines.${name}.routes[0].when`, message: 'bad condition' },
          // In "other", already reported by the reference stage: dropped there.
          { path: ['pipelines', name, 'routes', 0, 'to', 0], message: 'reported by the check' },
        ];
      },
      config: () => [{ path: [], message: 'not reached: the configuration is invalid' }],
    };
    const text = base(
      '  other:\n    source: { kind: ga4, propertyId: 1 }\n    routes: [{ name: all, to: [slak] }]',
    );
    const result = validateConfigSync(text, {
      registry: testRegistry(),
      env: { GA4_KEY: 'k' },
      checks: [check],
    });
    expect(seen).toEqual(['daily:valid', 'other:valid']);
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'pipelines.daily.routes[0].when: bad condition',
      'pipelines.daily.routes[0].to[0]: reported by the check',
      'pipelines.other.source.credentials: required',
      'pipelines.other.source.propertyId: expected string, got 1',
      'pipelines.other.routes[0].when: bad condition',
      'pipelines.other.routes[0].to[0]: unknown destination "slak" (known: out)',
    ]);
  });

  it('turns a check that throws a ConfigError into issues, and runs whole-configuration checks on a valid one', () => {
    const check: ConfigCheck = {
      config: () => {
        throw new ConfigError([
          { path: 'pipelines.daily.schedule', message: 'the scheduler cannot apply it' },
        ]);
      },
    };
    const result = validateConfigSync(base('    schedule: { cron: "0 8 * * *" }'), {
      registry: testRegistry(),
      env: { GA4_KEY: 'k' },
      checks: [check],
    });
    expect(result.issues).toEqual([
      {
        path: 'pipelines.daily.schedule',
        message: 'the scheduler cannot apply it',
        line: 7,
        column: 15,
      },
    ]);
    expect(() => configOrThrow(result)).toThrow(ConfigError);
  });
});

describe('validateConfig without the environment', () => {
  const text = `store: { url: "\${env:DATABASE_URL}" }
server:
  apiKeys: [{ name: ops, key: "\${env:ADMIN_KEY}", scopes: [admin] }]
destinations:
  out: { kind: database, url: "\${env:WAREHOUSE_URL}", table: t }
pipelines:
  daily:
    source: { kind: ga4, propertyId: "1", credentials: "\${file:./secrets/ga4.json}" }
    webhook: { verify: standard-webhooks, secret: "\${env:HOOK_SECRET}" }
    routes: [{ name: all, to: [out] }]
`;

  it('checks everything but reads no variable and no file', () => {
    const full = validateConfigSync(text, { registry: testRegistry(), baseDir: dir, env: {} });
    expect(full.issues.map((i) => i.path)).toEqual([
      'store.url',
      'server.apiKeys[0].key',
      'destinations.out.url',
      'pipelines.daily.source.credentials',
      'pipelines.daily.webhook.secret',
    ]);
    const offline = validateConfigSync(text, {
      registry: testRegistry(),
      baseDir: dir,
      environment: false,
    });
    expect(offline.issues).toEqual([]);
    expect(offline.ok).toBe(true);
    expect(offline.environment).toBe(false);
    expect(offline.secrets).toEqual([]);
    // References are kept as written in what it returns: nothing was read.
    expect(offline.config!.destinations['out']).toMatchObject({ url: '${env:WAREHOUSE_URL}' });
  });

  it('still reports every mistake that no referenced value could fix', () => {
    const broken = text
      .replace('table: t', 'table: t, colour: blue')
      .replace('"${env:HOOK_SECRET}"', '"${vault:hook}"')
      .replace('to: [out]', 'to: [outt]')
      .replace('  daily:\n', '  daily:\n    timeoutMs: "${env:TIMEOUT}"\n');
    const offline = validateConfigSync(broken, {
      registry: testRegistry(),
      baseDir: dir,
      environment: false,
    });
    expect(offline.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^destinations\.out\.colour: unknown key "colour"/),
      // A reference always produces a string: a number-typed key cannot hold one.
      'pipelines.daily.timeoutMs: expected number, got "${env:TIMEOUT}"',
      expect.stringMatching(
        /^pipelines\.daily\.webhook\.secret: unknown reference "\$\{vault:hook\}"/,
      ),
      expect.stringMatching(/^pipelines\.daily\.routes\[0\]\.to\[0\]: unknown destination "outt"/),
    ]);
  });
});

describe('plugins listed in the configuration', () => {
  const pluginSource = (kind: string) => `import * as v from 'valibot';
import { defineConnector, definePlugin } from '@sluice/core';
export default definePlugin({
  name: 'local-${kind}',
  sluice: '^1',
  connectors: [defineConnector({ kind: '${kind}', version: '1.0.0', configSchema: v.strictObject({ path: v.string() }), create: () => ({ async *read() {} }) })],
});
`;

  beforeAll(() => {
    // A folder with its own node_modules, as an installation next to sluice.yaml would have.
    symlinkSync(
      resolve(import.meta.dirname, '../../../node_modules'),
      join(dir, 'node_modules'),
      'dir',
    );
    mkdirSync(join(dir, 'local-plugin/dist'), { recursive: true });
    writeFileSync(join(dir, 'local-plugin/dist/index.js'), pluginSource('local-files'));
    writeFileSync(join(dir, 'absolute.mjs'), pluginSource('absolute-files'));
  });

  const withPlugins = (plugins: string[], kind: string) => `plugins: ${JSON.stringify(plugins)}
destinations:
  out: { kind: database, url: postgres://db/app, table: t }
pipelines:
  p:
    source: { kind: ${kind}, path: x }
    routes: [{ name: all, to: [out] }]
`;

  it('loads a plugin by a path relative to the configuration folder, and validates its options', async () => {
    const registry = testRegistry();
    const ok = await validateConfig(withPlugins(['./local-plugin/dist/index.js'], 'local-files'), {
      registry,
      baseDir: dir,
    });
    expect(ok.issues).toEqual([]);
    expect(registry.kinds('connector')).toContain('local-files');
    // The same registry again (a reload): nothing is registered twice.
    expect(
      (
        await validateConfig(withPlugins(['./local-plugin/dist/index.js'], 'local-files'), {
          registry,
          baseDir: dir,
        })
      ).issues,
    ).toEqual([]);
    const wrong = await validateConfig(
      withPlugins(['./local-plugin/dist/index.js'], 'local-files').replace('path: x', 'path: 3'),
      { registry: testRegistry(), baseDir: dir },
    );
    expect(wrong.issues.map((i) => i.path)).toEqual(['pipelines.p.source.path']);
  });

  it('loads a plugin by absolute path and by file URL, and by package name from the folder', async () => {
    const absolute = join(dir, 'absolute.mjs');
    expect(
      (
        await validateConfig(withPlugins([absolute], 'absolute-files'), {
          registry: testRegistry(),
          baseDir: dir,
        })
      ).issues,
    ).toEqual([]);
    expect(
      (
        await validateConfig(withPlugins([`file://${absolute}`], 'absolute-files'), {
          registry: testRegistry(),
          baseDir: dir,
        })
      ).issues,
    ).toEqual([]);
    // `yaml` resolves through the folder's node_modules; it is no plugin.
    const notPlugin = await validateConfig(withPlugins(['yaml'], 'ga4'), {
      registry: testRegistry(),
      baseDir: dir,
    });
    expect(notPlugin.issues[0]).toMatchObject({
      path: 'plugins[0]',
      line: 1,
      message: 'plugin "yaml" must export definePlugin(...) as its default export',
    });
  });

  it('reports every entry that cannot be found, with the rest of the file', async () => {
    const result = await validateConfig(
      withPlugins(['./missing/index.js', 'sluice-plugin-nowhere'], 'ga4'),
      { registry: testRegistry(), baseDir: dir },
    );
    expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      `plugins[0]: cannot find plugin module "./missing/index.js" (looked for ${join(dir, 'missing/index.js')}, relative to the configuration file's folder)`,
      'plugins[1]: cannot find plugin package "sluice-plugin-nowhere" (install it next to sluice.yaml or in the working directory)',
      'pipelines.p.source.propertyId: required',
      'pipelines.p.source.credentials: required',
      'pipelines.p.source.path: unknown key "path"',
    ]);
  });
});
