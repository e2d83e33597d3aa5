// Issue 23, "bad input": generated configurations, valid and broken — cron nicknames and 5/6/7
// fields, every secret form (env, file, inline, escaped, unknown scheme, unset, unreadable,
// undecodable), relative plugin paths, limits — and the one property that matters:
// `validate(config).ok === (serve starts and applies it)`. The bulk runs in-process
// (startSluice); a handful through the real CLI (`sluice validate` and `sluice serve` processes,
// test/e2e/harness.ts). For the API: a refused PUT leaves the stored version unchanged, an
// accepted one is what the scheduler runs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import { createRegistry, startSluice, type SluiceServer } from '@sluice/server';
import { validateServerConfig } from '../../apps/server/src/runtime/validation.js';
import { CLI, requireBuiltServer, startServer } from '../e2e/harness.js';

const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const dir = mkdtempSync(join(tmpdir(), 'sluice-validate-serve-'));
const OUT = join(dir, 'out');
const EXAMPLE_PLUGIN = pathToFileURL(
  resolve(import.meta.dirname, '../../examples/plugin-connector/dist/index.js'),
).href;

beforeAll(() => {
  requireBuiltServer();
  mkdirSync(join(dir, 'local-plugin/dist'), { recursive: true });
  writeFileSync(
    join(dir, 'local-plugin/dist/index.js'),
    `export { default } from ${JSON.stringify(EXAMPLE_PLUGIN)};\n`,
  );
  writeFileSync(join(dir, 'hook-secret'), `${WHSEC}\n`);
  writeFileSync(join(dir, 'slack-token'), 'xoxb-token-from-a-file\n');
});

/** Mostly `good`, sometimes one of `bad`: each sample breaks a few things at most, so both outcomes occur. */
const mostly = <T>(good: readonly T[], bad: readonly T[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...good) },
    { weight: 1, arbitrary: fc.constantFrom(...bad) },
  );

/** A secret as written in the file, with the environment it needs. */
interface SecretForm {
  text: string;
  env: Record<string, string>;
}

const webhookSecret = mostly<SecretForm>(
  [
    { text: '${env:HOOK}', env: { HOOK: WHSEC } },
    { text: '${file:./hook-secret}', env: {} },
    { text: 'whsec_${env:HOOK_TAIL}', env: { HOOK_TAIL: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } }, // embedded
  ],
  [
    { text: '${env:HOOK}', env: { HOOK: 'whsec_not base64 at all!' } },
    { text: '${env:HOOK_UNSET}', env: {} },
    { text: '${file:./no-such-secret}', env: {} },
    { text: WHSEC, env: {} }, // inline: the store refuses it
    { text: '${vault:hook}', env: {} },
    { text: '$${env:HOOK}', env: { HOOK: WHSEC } }, // escaped: the literal text, not a reference
  ],
);

const slackToken = mostly<SecretForm>(
  [
    { text: '${env:SLACK_TOKEN}', env: { SLACK_TOKEN: 'xoxb-token-from-the-environment' } },
    { text: '${file:./slack-token}', env: {} },
  ],
  [{ text: 'xoxb-inline-token-in-the-file', env: {} }],
);

const cron = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '@daily',
      '@hourly',
      '@weekly',
      '@monthly',
      '@yearly',
      '@annually',
      '@midnight',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '0 8 * * *',
      '*/15 * * * *',
      '0 0 8 * * *',
      '30 0 8 * * MON',
      '0 0 8 * * * 2099',
      '0 0 0 1 1 * 2030-2040',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '@sometimes',
      '@reboot',
      '61 * * * *',
      '* * *',
      '0 0 0 1 1 * 2020',
      '0 8 * * * * * *',
      '',
    ),
  },
);

const sample = fc.record({
  cron,
  timezone: mostly(['UTC', 'Europe/Berlin', 'America/New_York'], ['Europe/Berlinn', '+01:00']),
  webhook: webhookSecret,
  slack: slackToken,
  plugin: mostly(['none', 'relative'], ['missing']),
  bodyLimitBytes: mostly([1024 * 1024, 64 * 1024 * 1024], [1e20, 0]),
  catchUp: mostly<number | undefined>([undefined, 3, 1000], [1001]),
});
type Sample = typeof sample extends fc.Arbitrary<infer T> ? T : never;

function configOf(s: Sample, dataDir: string): { yaml: string; env: Record<string, string> } {
  const plugins =
    s.plugin === 'relative'
      ? ['./local-plugin/dist/index.js']
      : s.plugin === 'missing'
        ? ['./missing/index.js']
        : [];
  const source =
    s.plugin === 'none'
      ? '{ kind: sample }'
      : '{ kind: http-json, url: "https://api.example.com/items", recordsPath: data }';
  const missed = s.catchUp === undefined ? '' : `, missed: { catchUp: ${s.catchUp} }`;
  const yaml = `store: { dataDir: ${dataDir} }
server: { auth: false, bodyLimitBytes: ${s.bodyLimitBytes} }
plugins: ${JSON.stringify(plugins)}
destinations:
  out: { kind: file, root: ${OUT}, path: out.ndjson }
  chat: { kind: slack, token: ${JSON.stringify(s.slack.text)}, channel: "#alerts", text: "{{ record.id }}" }
pipelines:
  p:
    source: ${source}
    schedule: { cron: ${JSON.stringify(s.cron)}, timezone: ${JSON.stringify(s.timezone)}${missed} }
    webhook: { verify: standard-webhooks, secret: ${JSON.stringify(s.webhook.text)} }
    routes: [{ name: all, to: [out, chat] }]
`;
  return { yaml, env: { ...s.webhook.env, ...s.slack.env } };
}

/** Serve's verdict: started and applied it (the scheduler runs the file's schedule and webhook), or refused with a ConfigError. */
async function serve(s: Sample, config: string, env: Record<string, string>): Promise<boolean> {
  let sluice: SluiceServer;
  try {
    sluice = await startSluice({
      configPath: config,
      port: 0,
      host: '127.0.0.1',
      env,
      logger: false,
      cron: false,
      worker: false,
    });
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
  try {
    expect(Object.keys(sluice.config().pipelines)).toEqual(['p']);
    const scheduled = sluice.scheduler.pipeline('p');
    expect(scheduled?.cron[0]?.schedule.expression).toBe(s.cron);
    expect(scheduled?.cron[0]?.schedule.timezone).toBe(s.timezone);
    expect(scheduled?.webhook?.scheme).toBe('standard-webhooks');
    if (s.plugin === 'relative') expect(sluice.registry.kinds('connector')).toContain('http-json');
    return true;
  } finally {
    await sluice.close();
  }
}

describe('validate(config).ok === (serve starts and applies it)', () => {
  it('in process, on generated configurations', async () => {
    const outcomes = { valid: 0, invalid: 0 };
    const dataDir = join(dir, 'data'); // one store for every sample, as one server would keep it
    let n = 0;
    await fc.assert(
      fc.asyncProperty(sample, async (s) => {
        const { yaml, env } = configOf(s, dataDir);
        const config = join(dir, `sluice-${n++}.yaml`);
        writeFileSync(config, yaml);
        const validated = await validateServerConfig(yaml, {
          registry: createRegistry(),
          baseDir: dir,
          env,
        });
        const started = await serve(s, config, env);
        expect(
          started,
          `validate said ${validated.ok ? 'ok' : JSON.stringify(validated.issues)}`,
        ).toBe(validated.ok);
        outcomes[validated.ok ? 'valid' : 'invalid']++;
      }),
      { numRuns: 40, seed: 2323, endOnFailure: true },
    );
    // Both sides of the property were exercised, each several times.
    expect(outcomes.valid).toBeGreaterThanOrEqual(4);
    expect(outcomes.invalid).toBeGreaterThanOrEqual(4);
  }, 900_000);

  it('through the real CLI: sluice validate exits 0 exactly when sluice serve starts', async () => {
    const samples: Sample[] = [
      {
        cron: '@daily',
        timezone: 'Europe/Berlin',
        webhook: { text: '${file:./hook-secret}', env: {} },
        slack: {
          text: '${env:SLACK_TOKEN}',
          env: { SLACK_TOKEN: 'xoxb-token-from-the-environment' },
        },
        plugin: 'relative',
        bodyLimitBytes: 1024 * 1024,
        catchUp: 3,
      },
      {
        cron: '0 0 8 * * * 2099',
        timezone: 'UTC',
        webhook: { text: '${env:HOOK}', env: { HOOK: WHSEC } },
        slack: { text: '${file:./slack-token}', env: {} },
        plugin: 'none',
        bodyLimitBytes: 64 * 1024 * 1024,
        catchUp: undefined,
      },
      {
        cron: '@daily',
        timezone: 'UTC',
        webhook: { text: '${env:HOOK}', env: { HOOK: 'whsec_not base64 at all!' } },
        slack: { text: '${env:SLACK_TOKEN}', env: { SLACK_TOKEN: 'xoxb-token' } },
        plugin: 'none',
        bodyLimitBytes: 1024 * 1024,
        catchUp: undefined,
      },
      {
        cron: '@hourly',
        timezone: 'UTC',
        webhook: { text: '${env:HOOK}', env: { HOOK: WHSEC } },
        slack: { text: 'xoxb-inline-token-in-the-file', env: {} },
        plugin: 'missing',
        bodyLimitBytes: 1e20,
        catchUp: 1001,
      },
    ];
    for (const [i, s] of samples.entries()) {
      const { yaml, env } = configOf(s, join(dir, `cli-data-${i}`));
      const config = join(dir, `cli-${i}.yaml`);
      writeFileSync(config, yaml);
      const validate = spawnSync(process.execPath, [CLI, 'validate', config], {
        cwd: dir,
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect([0, 2], validate.stderr).toContain(validate.status);
      let started = true;
      try {
        const server = await startServer({
          config,
          env,
          adminKey: 'unused-auth-is-off',
          timeoutMs: 90_000,
        });
        const pipelines = await server.api<{ items: { name: string }[] }>(
          'GET',
          '/api/v1/pipelines',
        );
        expect(pipelines.body.items.map((p) => p.name)).toEqual(['p']);
        await server.stop();
      } catch (error) {
        expect(String(error)).toMatch(/exited \(2\) before serving/);
        started = false;
      }
      expect(started, `sample ${i}: validate exited ${validate.status}: ${validate.stderr}`).toBe(
        validate.status === 0,
      );
    }
  }, 900_000);
});

describe('PUT refused ⇒ stored version unchanged', () => {
  let sluice: SluiceServer;
  beforeAll(async () => {
    const config = join(dir, 'api.yaml');
    writeFileSync(
      config,
      `store: { dataDir: ${join(dir, 'api-data')} }\nserver: { auth: false }\ndestinations:\n  out: { kind: file, root: ${OUT}, path: out.ndjson }\npipelines:\n  p:\n    source: { kind: sample }\n    schedule: { cron: "0 8 * * *" }\n    routes: [{ name: all, to: [out] }]\n`,
    );
    sluice = await startSluice({
      configPath: config,
      port: 0,
      host: '127.0.0.1',
      logger: false,
      cron: false,
      worker: false,
    });
  }, 120_000);
  afterAll(async () => {
    await sluice?.close();
  });

  const schedule = fc.record(
    {
      cron,
      timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Base'),
      missed: fc.constantFrom<unknown>(
        'skip',
        { catchUp: 2 },
        { catchUp: 0 },
        { catchUp: 5000 },
        'catch-up',
      ),
      jitterMs: fc.constantFrom(0, 30_000, -1, 1.5),
      colour: fc.constant('blue'),
    },
    { requiredKeys: ['cron'] },
  );

  it('for generated schedules', async () => {
    const outcomes = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(schedule, async (body) => {
        const before = (await sluice.store.pipelines.getEntry('p'))!.latestVersion;
        const running = sluice.scheduler.pipeline('p')?.cron[0]?.schedule.expression;
        const response = await fetch(`${sluice.url}/api/v1/schedules/p`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const after = (await sluice.store.pipelines.getEntry('p'))!.latestVersion;
        if (response.status === 400) {
          outcomes.refused++;
          expect(after).toBe(before);
          expect(sluice.scheduler.pipeline('p')?.cron[0]?.schedule.expression).toBe(running);
        } else {
          expect(response.status, await response.text()).toBe(200);
          outcomes.accepted++;
          expect(after).toBeGreaterThanOrEqual(before);
          expect(sluice.scheduler.pipeline('p')?.cron[0]?.schedule.expression).toBe(body.cron);
        }
      }),
      { numRuns: 60, seed: 2324, endOnFailure: true },
    );
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  }, 300_000);
});
