// Issue 23, "one truth for configuration": what `sluice validate` accepts is what `serve` starts
// and applies, and what it refuses `serve` refuses for the same reason. One test per finding of
// the issue that the in-process server can show (the CLI's are in cli.test.ts).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import { createRegistry, startSluice, type SluiceServer } from '../src/index.js';
import { validateServerConfig } from '../src/runtime/validation.js';
import { configDir } from './helpers.js';

// Nothing here runs a pipeline; the file destination still gets a folder of its own.
const OUT = join(tmpdir(), 'sluice-config-truth-out');
const running: SluiceServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** A folder with a sluice.yaml whose store lives in that folder. */
function configFile(yaml: string, files: Record<string, string> = {}) {
  const { dir, config } = configDir('', files);
  writeFileSync(config, `store: { dataDir: ${dir}/data }\n${yaml}`);
  return { dir, config };
}

async function start(
  yaml: string,
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const { dir, config } = configFile(yaml, files);
  const sluice = await startSluice({
    configPath: config,
    port: 0,
    host: '127.0.0.1',
    env,
    logger: false,
    cron: false,
  });
  running.push(sluice);
  return { sluice, dir, config };
}

/** The issues `startSluice` refused the file with. */
async function refusal(yaml: string, env: Record<string, string> = {}): Promise<ConfigError> {
  const { config } = configFile(yaml);
  try {
    const sluice = await startSluice({
      configPath: config,
      port: 0,
      host: '127.0.0.1',
      env,
      logger: false,
      cron: false,
    });
    running.push(sluice);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected serve to refuse the configuration');
}

const pipeline = (extra: string) => `destinations:
  out: { kind: file, root: ${OUT}, path: out.ndjson }
pipelines:
  daily:
    source: { kind: sample }
${extra}
    routes: [{ name: all, to: [out] }]
`;

const CRON_FORMS = [
  '@daily',
  '@hourly',
  '@weekly',
  '@monthly',
  '@yearly',
  '@annually',
  '@midnight',
  '0 0 8 * * * 2099',
  '0 0 8 * * *',
  '0 8 * * *',
];

describe('every cron form the configuration accepts is one the scheduler runs', () => {
  it(`serve starts with ${CRON_FORMS.join(', ')} and schedules each`, async () => {
    // One pipeline per form, in one server (a PGlite folder per test would be slow).
    const yaml = `destinations:
  out: { kind: file, root: ${OUT}, path: out.ndjson }
pipelines:
${CRON_FORMS.map((cron, i) => `  p${i}:\n    source: { kind: sample }\n    schedule: { cron: "${cron}", timezone: Europe/Berlin }\n    routes: [{ name: all, to: [out] }]`).join('\n')}
`;
    const { dir } = configDir(yaml);
    expect(
      (await validateServerConfig(yaml, { registry: createRegistry(), baseDir: dir })).issues,
    ).toEqual([]);
    const { sluice } = await start(yaml);
    const after = Date.parse('2026-03-28T12:00:00Z');
    CRON_FORMS.forEach((cron, i) => {
      expect(sluice.config().pipelines[`p${i}`]!.schedule).toMatchObject({
        cron,
        timezone: 'Europe/Berlin',
      });
      const scheduled = sluice.scheduler.pipeline(`p${i}`)?.cron[0]?.schedule;
      expect(scheduled?.expression, cron).toBe(cron);
      expect(scheduled?.next(after), cron).toBeGreaterThan(after);
    });
  });

  it('names the pipeline, not its index, when serve refuses a schedule', async () => {
    const error = await refusal(pipeline('    schedule: { cron: "0 0 8 * *  * * *" }'));
    expect(error.issues.map((i) => i.path)).toEqual(['pipelines.daily.schedule.cron']);
    expect(error.issues[0]).toMatchObject({ line: 7 });
  });
});

describe("plugins by relative path and by package name, from the configuration file's folder", () => {
  // The example plugin, built (npx nx run-many -t build); a user's own build output would sit in the folder.
  const examplePlugin = pathToFileURL(
    resolve(import.meta.dirname, '../../../examples/plugin-connector/dist/index.js'),
  ).href;
  const httpJson = (plugin: string) => `plugins: [${plugin}]
destinations:
  out: { kind: file, root: ${OUT}, path: out.ndjson }
pipelines:
  items:
    source: { kind: http-json, url: "https://api.example.com/items", recordsPath: data }
    routes: [{ name: all, to: [out] }]
`;

  it('serve loads ./local-plugin/dist/index.js (as the guide shows) and validates its options', async () => {
    const files = {
      'local-plugin.mjs': `export { default } from ${JSON.stringify(examplePlugin)};\n`,
    };
    const { dir, config } = configFile(httpJson('./local-plugin/dist/index.js'), files);
    mkdirSync(join(dir, 'local-plugin/dist'), { recursive: true });
    renameSync(join(dir, 'local-plugin.mjs'), join(dir, 'local-plugin/dist/index.js'));
    const sluice = await startSluice({
      configPath: config,
      port: 0,
      host: '127.0.0.1',
      logger: false,
      cron: false,
    });
    running.push(sluice);
    expect(sluice.registry.kinds('connector')).toContain('http-json');
    expect(sluice.config().pipelines['items']!.source).toMatchObject({ kind: 'http-json' });
    // The same plugin with a wrong option: refused by validation, named by its path.
    const wrong = await validateServerConfig(
      readFileSync(config, 'utf8').replace('recordsPath: data', 'recordsPath: 3'),
      { registry: createRegistry(), baseDir: dir },
    );
    expect(wrong.issues.map((i) => i.path)).toEqual(['pipelines.items.source.recordsPath']);
  });

  it('a missing module path is reported with where it was looked for, with the rest of the file', async () => {
    const { dir } = configDir('');
    const result = await validateServerConfig(httpJson('./missing/index.js'), {
      registry: createRegistry(),
      baseDir: dir,
    });
    expect(result.issues[0]).toMatchObject({
      path: 'plugins[0]',
      line: 1,
      message: `cannot find plugin module "./missing/index.js" (looked for ${join(dir, 'missing/index.js')}, relative to the configuration file's folder)`,
    });
    expect(result.issues.map((i) => i.path)).toContain('pipelines.items.source.kind');
  });
});

describe('serve refuses exactly what validate refuses, for the same reason', () => {
  const cases: [string, string, Record<string, string>, string][] = [
    [
      'an inline plaintext secret in a stored section',
      pipeline('').replace(
        'path: out.ndjson',
        'path: out.ndjson, token: plaintext-token-in-the-file',
      ),
      {},
      'destinations.out.token',
    ],
    [
      'a standard-webhooks secret that is not base64',
      pipeline('    webhook: { verify: standard-webhooks, secret: "${env:HOOK}" }'),
      { HOOK: 'whsec_not base64 at all' },
      'pipelines.daily.webhook.secret',
    ],
    [
      'bodyLimitBytes: 1e20',
      `server: { bodyLimitBytes: 1e20 }\n${pipeline('')}`,
      {},
      'server.bodyLimitBytes',
    ],
    [
      'a webhook maxBytes the scheduler cannot hold',
      pipeline('    webhook: { verify: none, maxBytes: 1000000000 }'),
      {},
      'pipelines.daily.webhook.maxBytes',
    ],
    [
      'a timeout shorter than the scheduler allows',
      pipeline('    timeoutMs: 5'),
      {},
      'pipelines.daily.timeoutMs',
    ],
  ];
  it.each(cases)('%s', async (_name, yaml, env, path) => {
    const { dir } = configDir(yaml);
    const validated = await validateServerConfig(`store: { dataDir: ${dir}/data }\n${yaml}`, {
      registry: createRegistry(),
      baseDir: dir,
      env,
    });
    expect(validated.ok).toBe(false);
    const served = await refusal(yaml, env);
    // The same problems (serve's messages carry the position at their end, as thrown errors do).
    expect(served.issues.map((i) => i.path)).toEqual(validated.issues.map((i) => i.path));
    expect(served.issues.map((i) => i.path)).toContain(path);
    for (const secret of Object.values(env)) expect(served.message).not.toContain(secret);
  });

  it('accepts a base64 whsec_ secret and starts with it', async () => {
    const { sluice } = await start(
      pipeline('    webhook: { verify: standard-webhooks, secret: "${env:HOOK}" }'),
      { HOOK: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    );
    expect(sluice.scheduler.pipeline('daily')?.webhook?.scheme).toBe('standard-webhooks');
  });

  it('reload (SIGHUP) runs the same validation: a broken file is refused and the running config kept', async () => {
    const { sluice, config, dir } = await start(pipeline('    schedule: { cron: "@daily" }'));
    const head = `store: { dataDir: ${dir}/data }\n`;
    writeFileSync(config, `${head}${pipeline('    schedule: { cron: "@often" }')}`);
    await expect(sluice.reload()).rejects.toThrow(
      /pipelines\.daily\.schedule\.cron: invalid cron expression "@often"/,
    );
    expect(sluice.config().pipelines['daily']!.schedule!.cron).toBe('@daily');
    writeFileSync(config, `${head}${pipeline('    schedule: { cron: "0 0 6 * * * 2099" }')}`);
    await sluice.reload();
    expect(sluice.config().pipelines['daily']!.schedule!.cron).toBe('0 0 6 * * * 2099');
    expect(sluice.scheduler.pipeline('daily')?.cron[0]?.schedule.expression).toBe(
      '0 0 6 * * * 2099',
    );
  });
});
