// The `sluice` CLI as users run it: the built bin in a child process, exit codes and output.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXAMPLE_ENV, withFakeSecretFiles } from '../../../test/examples/fake-secrets.js';
import { configDir } from './helpers.js';

const root = resolve(import.meta.dirname, '../../..');
const cli = join(root, 'apps/server/dist/cli.js');

function sluice(args: string[], cwd = root, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cli, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

const pipelineYaml = (dir: string) => `
store: { dataDir: ${dir}/data }
destinations:
  out: { kind: file, root: ${dir}/out, path: 'run-{{batch.id}}.ndjson', format: ndjson }
pipelines:
  demo:
    source: { kind: sample, perRun: 30, pageSize: 10 }
    routes:
      - { name: all, to: [out] }
`;

beforeAll(() => {
  expect(existsSync(cli), 'build the server first: npx nx run-many -t build').toBe(true);
});

describe('sluice CLI', () => {
  it('validate accepts the quick start and the example config', () => {
    const quick = sluice(['validate', 'examples/quickstart/sluice.yaml']);
    expect(quick.status, quick.stderr).toBe(0);
    expect(quick.stdout).toMatch(/✓ examples\/quickstart\/sluice\.yaml is valid: 2 pipeline\(s\)/);
    const json = sluice(['validate', 'examples/quickstart/sluice.yaml', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: true,
      environment: true,
      pipelines: 2,
      destinations: 4,
      connections: 0,
    });

    // The full example references secrets: a copy next to fake key files, fake variables.
    const text = readFileSync(join(root, 'examples/sluice.example.yaml'), 'utf8');
    const { dir, config } = configDir(text);
    withFakeSecretFiles(parseYaml(text), dir);
    const full = sluice(['validate', config, '--json'], root, { ...EXAMPLE_ENV });
    expect(full.status, full.stdout + full.stderr).toBe(0);
    expect(JSON.parse(full.stdout)).toEqual({
      ok: true,
      environment: true,
      pipelines: 3,
      destinations: 8,
      connections: 3,
    });
    // Without its secrets it is rejected, naming what is missing.
    const bare = sluice(['validate', join(root, 'examples/sluice.example.yaml')], root, {
      WAREHOUSE_URL: '',
    });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('connections.ga4-main.credentials');
  });

  it('validate names every problem with its path and exits 2', () => {
    const { config } = configDir(`
destinations:
  out: { kind: file, root: /tmp/x, path: a.ndjson, format: xml }
pipelines:
  demo:
    source: { kind: sample }
    schedule: { cron: 'every day', timezone: Europe/Berln }
    routes:
      - { name: all, when: '$[?', to: [slak] }
`);
    const result = sluice(['validate', config]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('pipelines.demo.routes[0].to[0]: unknown destination "slak"');
    expect(result.stderr).toContain('pipelines.demo.schedule.cron');
    expect(result.stderr).toContain(
      'pipelines.demo.schedule.timezone: unknown time zone "Europe/Berln"',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace for user errors
    const json = JSON.parse(sluice(['validate', config, '--json']).stdout);
    expect(json.ok).toBe(false);
    expect(json.error.code).toBe('SLUICE_ERR_CONFIG');
    const missing = sluice(['validate', '/nonexistent/sluice.yaml']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('cannot read configuration file');
  });

  it('validate prints every mistake at once (six of five kinds and more), each with line:column and its path by name, exit 2', () => {
    // Five stages in one file: a range, a plugin option, a plaintext secret (the store's rule), a
    // cron expression, a secret's format and a route condition (compiled as the router will).
    const { config } = configDir(`server:
  bodyLimitBytes: 1e20
destinations:
  out: { kind: file, root: /tmp/out, path: a.ndjson, colour: blue }
  chat: { kind: slack, token: xoxb-inline-plaintext-token, channel: "#x", text: hi }
pipelines:
  daily:
    source: { kind: sample }
    schedule: { cron: "0 99 * * *" }
    webhook: { verify: standard-webhooks, secret: "\${env:HOOK_SECRET}" }
    routes:
      - { name: all, when: "$[?", to: [out, chat] }
`);
    const result = sluice(['validate', config], root, { HOOK_SECRET: 'whsec_this is not base64' });
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(`Invalid configuration in ${config} (6 problems):`);
    expect(lines.slice(1).map((line) => line.replace(config, 'FILE').replace(/: .*$/, ''))).toEqual(
      [
        '  FILE:2:19  server.bodyLimitBytes',
        '  FILE:4:62  destinations.out.colour',
        '  FILE:5:31  destinations.chat.token',
        '  FILE:9:23  pipelines.daily.schedule.cron',
        '  FILE:10:51  pipelines.daily.webhook.secret',
        '  FILE:12:28  pipelines.daily.routes[0].when',
      ],
    );
    expect(result.stderr).not.toContain('xoxb-inline-plaintext-token');
    expect(result.stderr).not.toContain('this is not base64');
    const json = JSON.parse(
      sluice(['validate', config, '--json'], root, { HOOK_SECRET: 'whsec_this is not base64' })
        .stdout,
    );
    expect(
      json.error.details.issues.map((i: { path: string; line: number }) => `${i.path}@${i.line}`),
    ).toEqual([
      'server.bodyLimitBytes@2',
      'destinations.out.colour@4',
      'destinations.chat.token@5',
      'pipelines.daily.schedule.cron@9',
      'pipelines.daily.webhook.secret@10',
      'pipelines.daily.routes[0].when@12',
    ]);
  });

  it('validate --no-environment checks the shipped example without its secrets; the default stays full validation', () => {
    const offline = sluice(
      ['validate', 'examples/sluice.example.yaml', '--no-environment', '--json'],
      root,
      { WAREHOUSE_URL: '' },
    );
    expect(offline.status, offline.stdout + offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toEqual({
      ok: true,
      environment: false,
      pipelines: 3,
      destinations: 8,
      connections: 3,
    });
    const full = sluice(['validate', 'examples/sluice.example.yaml'], root, { WAREHOUSE_URL: '' });
    expect(full.status).toBe(2);
    expect(full.stderr).toMatch(/\(14 problems\)/);
    // Mistakes no referenced value could fix are still found without the environment.
    const text = readFileSync(join(root, 'examples/sluice.example.yaml'), 'utf8').replace(
      'to: [slack-alerts]',
      'to: [slack-alertz]',
    );
    const { config } = configDir(text);
    const broken = sluice(['validate', config, '--no-environment']);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(
      /pipelines\.ga4-daily\.routes\[0\]\.to\[0\]: unknown destination "slack-alertz"/,
    );
  });

  it('finds the configuration in one order: --config, then $SLUICE_CONFIG (the text itself), then $SLUICE_CONFIG_FILE, then ./sluice.yaml', () => {
    // Each source has a different number of pipelines, so the answer says which one was read.
    const withPipelines = (n: number) =>
      `destinations:\n  out: { kind: file, root: /tmp/out, path: a.ndjson }\npipelines:\n${Array.from({ length: n }, (_, i) => `  p${i}:\n    source: { kind: sample }\n    routes: [{ name: all, to: [out] }]\n`).join('')}`;
    const { dir } = configDir(withPipelines(1)); // ./sluice.yaml of the working directory
    const { config: fileVar } = configDir(withPipelines(3));
    const { config: flag } = configDir(withPipelines(4));
    const inline = withPipelines(2);
    const pipelines = (env: Record<string, string>, args: string[] = []) => {
      const result = sluice(['validate', ...args, '--json'], dir, {
        SLUICE_CONFIG: '',
        SLUICE_CONFIG_FILE: '',
        ...env,
      });
      expect(result.status, result.stdout + result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as { pipelines: number }).pipelines;
    };
    expect(pipelines({})).toBe(1);
    expect(pipelines({ SLUICE_CONFIG_FILE: fileVar })).toBe(3);
    expect(pipelines({ SLUICE_CONFIG_FILE: fileVar, SLUICE_CONFIG: inline })).toBe(2);
    expect(
      pipelines({ SLUICE_CONFIG_FILE: fileVar, SLUICE_CONFIG: inline }, ['--config', flag]),
    ).toBe(4);
    // serve reads it the same way: the inline configuration's error names its key.
    const served = sluice(['serve', '--port', '0'], dir, {
      SLUICE_CONFIG: 'server: { port: eighty }\n',
      SLUICE_CONFIG_FILE: fileVar,
    });
    expect(served.status).toBe(2);
    expect(served.stderr).toContain('server.port: expected number, got "eighty"');
  });

  it('run --dry-run shows what each destination would receive without writing', () => {
    const dir = configDir('').dir;
    const { config } = configDir(pipelineYaml(dir));
    const result = sluice(['run', 'demo', '--config', config, '--dry-run', '--limit', '15']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('dry run of "demo": 15 record(s) read, 15 matched');
    expect(result.stdout).toContain('→ out: 15 record(s)');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('run --dry-run says where it starts: the start, or the saved cursor with --from-cursor', () => {
    const dir = configDir('').dir;
    const { config } = configDir(pipelineYaml(dir));
    const firstLine = (r: ReturnType<typeof sluice>) => r.stdout.split('\n')[0];
    // Nothing ran yet: no data folder is created just to look for a cursor.
    const none = sluice([
      'run',
      'demo',
      '--config',
      config,
      '--dry-run',
      '--from-cursor',
      '--limit',
      '2',
    ]);
    expect(none.status, none.stderr).toBe(0);
    expect(firstLine(none)).toBe(
      'dry run of "demo": reading from the start (the pipeline has no saved cursor yet)',
    );
    expect(existsSync(join(dir, 'data'))).toBe(false);

    expect(sluice(['run', 'demo', '--config', config, '--json']).status).toBe(0); // commits { seq: 30 }
    const fromStart = sluice(['run', 'demo', '--config', config, '--dry-run', '--limit', '2']);
    expect(firstLine(fromStart)).toBe(
      'dry run of "demo": reading from the start (--from-cursor starts at the pipeline\'s saved cursor)',
    );
    expect(fromStart.stdout).toContain('e.g. {"seq":1,');
    const fromCursor = sluice([
      'run',
      'demo',
      '--config',
      config,
      '--dry-run',
      '--from-cursor',
      '--limit',
      '2',
    ]);
    expect(fromCursor.status, fromCursor.stderr).toBe(0);
    expect(firstLine(fromCursor)).toBe(
      'dry run of "demo": reading from the saved cursor {"seq":30} (the cursor is not moved)',
    );
    expect(fromCursor.stdout).toContain('dry run of "demo": 2 record(s) read');
    expect(fromCursor.stdout).toContain('e.g. {"seq":31,');
    const json = JSON.parse(
      sluice([
        'run',
        'demo',
        '--config',
        config,
        '--dry-run',
        '--from-cursor',
        '--limit',
        '2',
        '--json',
      ]).stdout,
    );
    expect(json.start).toEqual({ from: 'cursor', cursor: { seq: 30 } });
    expect(json.records[0].routes[0].output[0].seq).toBe(31);
    // The dry run moved nothing: the next real run still starts after seq 30.
    const next = JSON.parse(sluice(['run', 'demo', '--config', config, '--json']).stdout);
    expect(next.runs[0].counts.read).toBe(30);
    const lines = readdirSync(join(dir, 'out')).flatMap((f) =>
      readFileSync(join(dir, 'out', f), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
    expect(Math.max(...lines.map((l) => (JSON.parse(l) as { seq: number }).seq))).toBe(60);
    const misuse = sluice(['run', 'demo', '--config', config, '--from-cursor']);
    expect(misuse.status).toBe(2);
    expect(misuse.stderr).toContain('--from-cursor: only with --dry-run');
  }, 180_000);

  it('run executes a pipeline, reports counts, and continues from the checkpoint next time', () => {
    const dir = configDir('').dir;
    const { config } = configDir(pipelineYaml(dir));
    const first = sluice(['run', 'demo', '--config', config, '--json']);
    expect(first.status, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report.ok).toBe(true);
    expect(report.runs[0].counts).toMatchObject({ read: 30, delivered: 30 });
    expect(report.runs[0].trigger).toBe('cli');
    const second = JSON.parse(sluice(['run', 'demo', '--config', config, '--json']).stdout);
    expect(second.runs[0].counts.read).toBe(30);
    const lines = readdirSync(join(dir, 'out')).flatMap((f) =>
      readFileSync(join(dir, 'out', f), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    const unknown = sluice(['run', 'nope', '--config', config]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown pipeline "nope"');
  }, 120_000);

  it('run applies the pipeline-level transform once before routing; validate refuses a step that makes several records', () => {
    const dir = configDir('').dir;
    const { config } = configDir(`
store: { dataDir: ${dir}/data }
destinations:
  low: { kind: file, root: ${dir}/low, path: 'low.ndjson', format: ndjson, mode: append }
  rest: { kind: file, root: ${dir}/rest, path: 'rest.ndjson', format: ndjson, mode: append }
pipelines:
  demo:
    source: { kind: sample, perRun: 30, pageSize: 10 }
    transform:
      - { kind: drop, when: { path: '$.seq', op: gt, value: 25 } }
      - { kind: compute, field: half, expression: 'seq / 2' }
    routes:
      # The condition reads a field only the pipeline-level step made.
      - { name: low, when: { path: '$.half', op: lte, value: 5 }, to: [low], mode: stop }
      - { name: rest, to: [rest] }
`);
    const run = sluice(['run', 'demo', '--config', config, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).runs[0].counts).toMatchObject({
      read: 30,
      delivered: 25,
      dropped: 5,
    });
    const read = (name: string) =>
      readFileSync(join(dir, name, `${name}.ndjson`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { seq: number; half: number });
    expect(read('low').map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(read('rest').map((r) => [r.seq, r.half])).toEqual(
      Array.from({ length: 15 }, (_, i) => [i + 11, (i + 11) / 2]),
    );

    const refused = configDir(`
destinations:
  out: { kind: file, root: ${dir}/x, path: a.ndjson }
pipelines:
  demo:
    source: { kind: sample }
    transform: [{ kind: unnest, field: items }]
    routes: [{ name: all, to: [out] }]
`);
    const validate = sluice(['validate', refused.config]);
    expect(validate.status).toBe(2);
    expect(validate.stderr).toContain(
      'pipelines.demo.transform[0].kind: "unnest" turns one record into several',
    );
  }, 120_000);

  it('migrate, dead-letters and schema work', () => {
    const dir = configDir('').dir;
    const { config } = configDir(pipelineYaml(dir));
    const migrate = sluice(['migrate', '--config', config, '--json']);
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(JSON.parse(migrate.stdout).ok).toBe(true);
    const letters = sluice(['dead-letters', 'list', '--config', config]);
    expect(letters.status, letters.stderr).toBe(0);
    expect(letters.stdout.trim()).toBe('no dead letters');
    const schema = JSON.parse(sluice(['schema']).stdout);
    expect(JSON.stringify(schema)).toContain('"sample"');
    expect(sluice(['bogus']).status).not.toBe(0);
  }, 120_000);
});
