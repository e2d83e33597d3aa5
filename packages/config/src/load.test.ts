import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue } from '@sluice/core';
import {
  configSecrets,
  loadConfig,
  loadConfigFile,
  parseConfigText,
  parseSluiceConfig,
  redactConfig,
} from './index.js';
import { testRegistry } from './__fixtures__/registry.js';

const examplePath = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../../examples/sluice.example.yaml',
);
const exampleText = readFileSync(examplePath, 'utf8');

const exampleEnv = {
  SLUICE_DATABASE_URL: 'postgres://sluice:store-pass@db:5432/sluice',
  SLUICE_ADMIN_KEY: 'admin-key-0123456789abcdef',
  HUBSPOT_ACCESS_TOKEN: 'pat-eu1-hubspot-token',
  WAREHOUSE_URL: 'postgres://app:warehouse-pass@db:5432/analytics',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
  SLACK_BOT_TOKEN: 'xoxb-slack-token',
  SMTP_PASSWORD: 'smtp-pass',
  CRM_EVENTS_TOKEN: 'crm-events-token',
  CRM_WEBHOOK_SECRET: 'whsec_Y3JtLXdlYmhvb2stc2VjcmV0',
  HUBSPOT_CLIENT_SECRET: 'hubspot-client-secret',
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-config-load-'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(
    join(dir, 'secrets', 'ga4-service-account.json'),
    '{"type":"service_account","private_key":"ga4-key"}\n',
  );
  writeFileSync(
    join(dir, 'secrets', 'bigquery-service-account.json'),
    '{"type":"service_account","private_key":"bq-key"}\n',
  );
  writeFileSync(join(dir, 'sluice.yaml'), exampleText);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function issuesOf(fn: () => unknown): readonly ConfigIssue[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

async function issuesOfAsync(promise: Promise<unknown>): Promise<readonly ConfigIssue[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues;
}

describe('examples/sluice.example.yaml', () => {
  it('validates structurally', () => {
    const config = loadConfig(exampleText, { env: exampleEnv, baseDir: dir });
    expect(Object.keys(config.pipelines)).toEqual(['ga4-daily', 'hubspot-deals', 'shop-orders']);
    const daily = config.pipelines['ga4-daily']!;
    expect(daily.schedule).toEqual({
      cron: '0 8 * * *',
      timezone: 'Europe/Berlin',
      missed: 'skip',
      jitterMs: 30000,
      enabled: true,
    });
    expect(daily.routes[0]).toMatchObject({
      name: 'drops-to-slack',
      priority: 100,
      when: { path: '$.change', op: 'lt', value: -0.2 },
      to: ['slack-alerts'],
      mode: 'continue',
    });
    expect(daily.routes[0]!.transform!.map((t) => t.kind)).toEqual(['compute', 'template']);
    expect(config.pipelines['hubspot-deals']!.webhook).toEqual({
      verify: 'hubspot-v3',
      secret: 'hubspot-client-secret',
      toleranceSeconds: 300,
      maxBytes: 1048576,
      payload: 'input',
    });
    expect(config.connections['ga4-main']!.credentials).toBe(
      '{"type":"service_account","private_key":"ga4-key"}',
    );
    expect(new Set(Object.values(config.destinations).map((d) => d.kind))).toEqual(
      new Set(['database', 'file', 'webhook', 'prometheus', 'email', 's3', 'slack']),
    );
    expect(new Set(Object.values(config.connections).map((c) => c.kind))).toEqual(
      new Set(['bigquery', 'ga4', 'hubspot']),
    );
  });

  it('validates structurally without resolving references (parseSluiceConfig)', () => {
    const parsed = parseConfigText(exampleText);
    expect(parsed.problems).toEqual([]);
    const config = parseSluiceConfig(parsed.value);
    expect(config.store.url).toBe('${env:SLUICE_DATABASE_URL}');
    expect(config.pipelines['ga4-daily']!.source).toEqual({
      connection: 'ga4-main',
      dimensions: ['date', 'sessionDefaultChannelGroup'],
      metrics: ['sessions'],
      dateRange: { startDate: 'yesterday', endDate: 'yesterday' },
      compareWith: 'previousDay',
      restateDays: 0,
    });
  });

  it('loads from its file, resolving ${file:...} next to it, and redacts every secret', async () => {
    const config = await loadConfigFile(join(dir, 'sluice.yaml'), { env: exampleEnv });
    expect(configSecrets(config)).toContain('hubspot-client-secret');
    const printed = JSON.stringify(redactConfig(config));
    for (const secret of Object.values(exampleEnv)) expect(printed).not.toContain(secret);
    expect(printed).not.toContain('ga4-key');
    expect(redactConfig(config).destinations['warehouse']!.url).toBe('[redacted]');
  });

  it('reports each error of a broken copy with its exact path', () => {
    const broken = exampleText
      .replace(
        'to: [slack-alerts]\n        mode: continue',
        'to: [slak-alerts]\n        mode: continue',
      )
      .replace('cron: "0 8 * * *" #', 'cron: "0 8 * * * * * *" #')
      .replace('timezone: Europe/Berlin', 'timezone: Europe/Berlim')
      .replace(
        '    mode: upsert\n',
        '    mode: upsert\n    batch: { maxRecords: 1000, maxWait: 5 }\n',
      )
      .replace('  port: 8080', '  port: "8080"')
      .replace(/^ {4}batch: \{ maxRecords: 1000, maxWaitMs: 2000 \}.*\n/m, '');
    const issues = issuesOf(() => loadConfig(broken, { env: exampleEnv, baseDir: dir }));
    expect(issues.map((i) => i.path)).toEqual([
      'server.port',
      'destinations.warehouse.batch.maxWait',
      'pipelines.ga4-daily.schedule.cron',
      'pipelines.ga4-daily.schedule.timezone',
      'pipelines.ga4-daily.routes[0].to[0]',
    ]);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['server.port']).toMatch(/^expected number, got "8080" \(line \d+, column \d+\)$/);
    expect(byPath['destinations.warehouse.batch.maxWait']).toMatch(
      /^unknown key "maxWait" \(did you mean "maxWaitMs"\?\) \(line \d+/,
    );
    expect(byPath['pipelines.ga4-daily.schedule.cron']).toMatch(
      /^invalid cron expression "0 8 \* \* \* \* \* \*": /,
    );
    expect(byPath['pipelines.ga4-daily.schedule.timezone']).toMatch(
      /^unknown time zone "Europe\/Berlim" \(did you mean "Europe\/Berlin"\?\)/,
    );
    expect(byPath['pipelines.ga4-daily.routes[0].to[0]']).toMatch(
      /^unknown destination "slak-alerts" \(did you mean "slack-alerts"\?\)/,
    );
  });

  it('validates plugin sections with a registry', () => {
    const text = [
      'connections:',
      '  ga4-main: { kind: ga4, credentials: "${env:GA4_CREDENTIALS}" }',
      'destinations:',
      '  warehouse: { kind: database, url: "postgres://db/app", tabel: sessions, batch: { maxRecords: 10 } }',
      '  alerts: { kind: slak, token: x }',
      'pipelines:',
      '  daily:',
      '    source: { connection: ga4-main, propertyId: "1" }',
      '    routes:',
      '      - { name: all, to: [warehouse], transform: [{ kind: pick }] }',
    ].join('\n');
    const issues = issuesOf(() =>
      loadConfig(text, { env: { GA4_CREDENTIALS: '{}' }, registry: testRegistry() }),
    );
    expect(
      issues.map((i) => `${i.path}: ${i.message.replace(/ \(line \d+, column \d+\)$/, '')}`),
    ).toEqual([
      'destinations.warehouse.table: required',
      'destinations.warehouse.tabel: unknown key "tabel"',
      'destinations.alerts.kind: unknown destination kind "slak" (did you mean "slack"?) (known: database, slack)',
      'pipelines.daily.routes[0].transform[0].fields: required',
    ]);
  });
});

describe('unresolved references and plugin checks', () => {
  it('reports an unreadable secret file once, without a second plugin problem at the same key', () => {
    const registry = testRegistry();
    const text = [
      'connections:',
      '  ga4-main: { kind: ga4, credentials: "${file:/nonexistent/sa.json}" }',
      'destinations:',
      '  warehouse: { kind: database, url: "postgres://db/app", table: t }',
      'pipelines:',
      '  daily:',
      '    source: { connection: ga4-main, propertyId: 1 }',
      '    routes: [{ name: all, to: [warehouse] }]',
    ].join('\n');
    const issues = issuesOf(() => loadConfig(text, { registry }));
    const atCredentials = issues.filter((i) => i.path === 'connections.ga4-main.credentials');
    expect(atCredentials).toHaveLength(1);
    expect(atCredentials[0]!.message).toContain('cannot read secret file');
    // problems elsewhere in the same section are still reported
    expect(issues.some((i) => i.path === 'pipelines.daily.source.propertyId')).toBe(true);
  });
});

describe('loadConfig', () => {
  it('loads an empty document as the defaults', () => {
    expect(loadConfig('').server.port).toBe(8080);
    expect(loadConfig('# only a comment\n').pipelines).toEqual({});
    expect(loadConfig({}).store.dataDir).toBe('./.sluice');
  });
  it('loads JSON text and data objects', () => {
    const json = JSON.stringify({ server: { port: 9000 } });
    expect(loadConfig(json, { format: 'json' }).server.port).toBe(9000);
    expect(
      loadConfig({ server: { host: '${env:HOST}' } }, { env: { HOST: '0.0.0.0' } }).server.host,
    ).toBe('0.0.0.0');
  });
  it('reports invalid YAML with line and column and no stack noise', () => {
    const issues = issuesOf(() => loadConfig('server:\n  port: 8080\n   host: x\n'));
    expect(issues.length).toBeGreaterThanOrEqual(1);
    for (const issue of issues) {
      expect(issue.path).toBe('');
      expect(issue.message).toMatch(/^invalid YAML at line \d+, column \d+: \w/);
    }
  });
  it('reports a non-object document', () => {
    expect(issuesOf(() => loadConfig('- a\n- b\n'))).toEqual([
      { path: '', message: 'expected a configuration object, got an array' },
    ]);
    expect(issuesOf(() => loadConfig('42'))).toEqual([
      { path: '', message: 'expected a configuration object, got 42' },
    ]);
  });
  it('lists reference, type, unknown-key and cross-reference problems together, in file order', () => {
    const text = [
      'store:',
      '  url: ${env:DATABASE_URL}',
      'server:',
      '  port: eighty',
      '  colour: blue',
      'pipelines:',
      '  p:',
      '    source: { kind: ga4, token: "${file:missing.txt}" }',
      '    routes: [{ name: a, to: [nowhere] }]',
    ].join('\n');
    const issues = issuesOf(() => loadConfig(text, { env: {}, baseDir: dir }));
    expect(issues).toEqual([
      {
        path: 'store.url',
        message:
          'environment variable "DATABASE_URL" is not set (referenced as ${env:DATABASE_URL}) (line 2, column 8)',
        line: 2,
        column: 8,
      },
      {
        path: 'server.port',
        message: 'expected number, got "eighty" (line 4, column 9)',
        line: 4,
        column: 9,
      },
      {
        path: 'server.colour',
        message:
          'unknown key "colour" (allowed: host, port, apiKeys, auth, cors, bodyLimitBytes, dashboard, rateLimit) (line 5, column 11)',
        line: 5,
        column: 11,
      },
      {
        path: 'pipelines.p.source.token',
        message: `cannot read secret file "missing.txt" (${join(dir, 'missing.txt')}): no such file (line 8, column 33)`,
        line: 8,
        column: 33,
      },
      {
        path: 'pipelines.p.routes[0].to[0]',
        message: 'unknown destination "nowhere" (none is defined) (line 9, column 30)',
        line: 9,
        column: 30,
      },
    ]);
  });
  it('never shows a resolved secret in an error', () => {
    const issues = issuesOf(() =>
      loadConfig(
        { server: { port: '${env:PORT_SECRET}' } },
        { env: { PORT_SECRET: 'sekrit-value' } },
      ),
    );
    expect(issues).toEqual([
      { path: 'server.port', message: 'expected number, got "${env:PORT_SECRET}"' },
    ]);
  });
  it('quotes a rejected value by its references, so no cut or JSON-escaped part of a secret shows', () => {
    // Messages cut a quoted value after 57 characters and JSON-escape it: the redactor, which
    // looks for the whole secret, would let the first 57 characters of a long one through.
    const long = `long-${'x1y2z3'.repeat(15)}`;
    const quoted = 'line "one"\nline two';
    const issues = issuesOf(() =>
      loadConfig(
        { server: { port: 'p${env:LONG}', bodyLimitBytes: '${env:QUOTED}' } },
        { env: { LONG: long, QUOTED: quoted } },
      ),
    );
    expect(issues).toEqual([
      { path: 'server.port', message: 'expected number, got "p${env:LONG}"' },
      { path: 'server.bodyLimitBytes', message: 'expected number, got "${env:QUOTED}"' },
    ]);
    expect(JSON.stringify(issues)).not.toContain(long.slice(0, 20));
  });
  it('remembers the secrets of the loaded config', () => {
    const config = loadConfig(
      { store: { url: 'postgres://u:${env:PW}@h/db' } },
      { env: { PW: 'pw-123' } },
    );
    expect(configSecrets(config)).toEqual(['pw-123']);
    expect(redactConfig(config).store.url).toBe('postgres://u:[redacted]@h/db');
  });
});

describe('parseSluiceConfig', () => {
  it('validates data without resolving references', () => {
    const config = parseSluiceConfig({
      destinations: { out: { kind: 'file', path: './out.ndjson', token: '${env:NOT_RESOLVED}' } },
      pipelines: { demo: { source: { kind: 'ga4' }, routes: [{ name: 'all', to: ['out'] }] } },
    });
    expect(config.destinations['out']!.token).toBe('${env:NOT_RESOLVED}');
    expect(config.pipelines['demo']!.routes[0]!.mode).toBe('continue');
    expect(configSecrets(config)).toEqual([]);
  });
  it('reports problems by path, with plugin checks when a registry is given', () => {
    expect(
      issuesOf(() =>
        parseSluiceConfig(
          { destinations: { w: { kind: 'database' } } },
          { registry: testRegistry() },
        ),
      ),
    ).toEqual([
      { path: 'destinations.w.url', message: 'required' },
      { path: 'destinations.w.table', message: 'required' },
    ]);
    expect(issuesOf(() => parseSluiceConfig({ server: { when: new Date(0) } }))).toEqual([
      { path: 'server.when', message: 'expected a JSON value, got a Date' },
      {
        path: 'server.when',
        message:
          'unknown key "when" (allowed: host, port, apiKeys, auth, cors, bodyLimitBytes, dashboard, rateLimit)',
      },
    ]);
  });
});

describe('loadConfigFile', () => {
  it('reads JSON files by extension', async () => {
    const file = join(dir, 'sluice.json');
    writeFileSync(file, JSON.stringify({ logging: { level: 'debug' } }));
    expect((await loadConfigFile(file)).logging.level).toBe('debug');
  });
  it('reports JSON syntax errors in .json files', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"logging": }');
    const issues = await issuesOfAsync(loadConfigFile(file));
    expect(issues[0]!.message).toMatch(/^invalid JSON: line 1, column 13: /);
  });
  it('reports a missing file or a folder as a ConfigError', async () => {
    expect(await issuesOfAsync(loadConfigFile(join(dir, 'nope.yaml')))).toEqual([
      {
        path: '',
        message: `cannot read configuration file "${join(dir, 'nope.yaml')}" (${join(dir, 'nope.yaml')}): no such file`,
      },
    ]);
    expect((await issuesOfAsync(loadConfigFile(dir)))[0]!.message).toMatch(/: is a directory$/);
  });
});
