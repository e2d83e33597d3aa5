import { describe, expect, it } from 'vitest';
import { REDACTED } from '@sluice/core';
import {
  configSecrets,
  createConfigRedactor,
  describeConfig,
  loadConfig,
  parseSluiceConfig,
  printConfig,
  redactConfig,
} from './index.js';
import { inlineSecrets } from './redact.js';

const env = { PG: 'pg-password-1', SLACK: 'xoxb-slack-1', REGION: 'eu-west-1' };
const config = loadConfig(
  {
    store: { url: 'postgres://sluice:${env:PG}@db/sluice' },
    server: { apiKeys: [{ name: 'ops', key: 'inline-key-0123456789', scopes: ['admin'] }] },
    destinations: {
      slack: { kind: 'slack', token: '${env:SLACK}', channel: '#alerts' },
      bucket: {
        kind: 's3',
        region: '${env:REGION}',
        key: 'reports/{{ run.date }}.csv',
        credentials: { secretAccessKey: 'inline' },
      },
      db: { kind: 'database', password: 'inline-password' },
    },
    pipelines: {
      daily: {
        source: { kind: 'ga4' },
        schedule: { cron: '0 8 * * *', timezone: 'Europe/Berlin' },
        webhook: { verify: 'slack', secret: 'inline-webhook-secret' },
        routes: [{ name: 'all', to: ['slack', 'bucket'] }],
        defaultRoute: { to: ['db'] },
      },
      off: {
        enabled: false,
        source: { kind: 'ga4' },
        api: { enabled: false },
        routes: [{ name: 'x', to: ['db'] }],
      },
    },
  },
  { env },
);

describe('redactConfig', () => {
  it('redacts referenced values, also inside strings', () => {
    const safe = redactConfig(config);
    expect(safe.store.url).toBe(`postgres://sluice:${REDACTED}@db/sluice`);
    expect(safe.destinations['slack']!.token).toBe(REDACTED);
    // Every value that came through a reference counts as a secret.
    expect(safe.destinations['bucket']!.region).toBe(REDACTED);
  });
  it('redacts credential-like keys even when written inline', () => {
    const safe = redactConfig(config);
    expect(safe.server.apiKeys[0]!.key).toBe(REDACTED);
    expect(safe.destinations['db']!.password).toBe(REDACTED);
    expect(safe.destinations['bucket']!.credentials).toBe(REDACTED);
    expect(safe.pipelines['daily']!.webhook!.secret).toBe(REDACTED);
    // An S3 object key is not an API key.
    expect(safe.destinations['bucket']!.key).toBe('reports/{{ run.date }}.csv');
    expect(safe.destinations['slack']!.channel).toBe('#alerts');
  });
  it('leaves the config itself untouched', () => {
    redactConfig(config);
    expect(config.destinations['slack']!.token).toBe('xoxb-slack-1');
  });
  it('works on configs that were not loaded (key-based only)', () => {
    const plain = parseSluiceConfig({ destinations: { x: { kind: 'email', password: 'p' } } });
    expect(configSecrets(plain)).toEqual([]);
    expect(redactConfig(plain).destinations['x']!.password).toBe(REDACTED);
  });
});

describe('createConfigRedactor / configSecrets', () => {
  it('redacts the secrets from arbitrary output', () => {
    expect([...configSecrets(config)].sort()).toEqual([
      'eu-west-1',
      'pg-password-1',
      'xoxb-slack-1',
    ]);
    const redact = createConfigRedactor(config);
    expect(redact('auth failed for xoxb-slack-1')).toBe(`auth failed for ${REDACTED}`);
    expect(redact(new Error('bad password pg-password-1')).message).toBe(
      `bad password ${REDACTED}`,
    );
    expect(configSecrets({})).toEqual([]);
  });
  it('also knows credentials written inline, but not short values or the rest of a credentials object', () => {
    const inline = parseSluiceConfig({
      store: { url: 'postgres://app:inline%40store-pw@db:5432/app' },
      server: { apiKeys: [{ name: 'reader', key: 'inline-reader-key-123', scopes: ['read'] }] },
      destinations: {
        out: { kind: 'slack', token: 'xoxb-inline-token-1', channel: '#a', password: 'short' },
      },
      connections: {
        g: {
          kind: 'ga4',
          credentials: { type: 'service_account', private_key: 'inline-private-key' },
        },
      },
      pipelines: { p: { source: { connection: 'g' }, routes: [{ name: 'a', to: ['out'] }] } },
    });
    expect(inlineSecrets(inline).sort()).toEqual([
      'inline-private-key',
      'inline-reader-key-123',
      'inline@store-pw',
      'xoxb-inline-token-1',
    ]);
    expect(
      createConfigRedactor(inline)('connection to postgres://app:inline%40store-pw@db failed'),
    ).toBe(`connection to postgres://app:${REDACTED}@db failed`);
    const redact = createConfigRedactor(inline);
    expect(
      redact({
        token: 'xoxb-inline-token-1',
        kind: 'service_account',
        password: 'short',
        key: 'inline-reader-key-123',
      }),
    ).toEqual({
      token: REDACTED,
      kind: 'service_account',
      password: 'short',
      key: REDACTED,
    });
  });
});

describe('printConfig / describeConfig', () => {
  it('prints the redacted config as YAML or JSON', () => {
    const yaml = printConfig(config);
    expect(yaml).toContain('url: postgres://sluice:[redacted]@db/sluice');
    expect(yaml).not.toContain('xoxb-slack-1');
    const json = JSON.parse(printConfig(config, { format: 'json' })) as {
      server: { port: number };
    };
    expect(json.server.port).toBe(8080);
  });
  it('summarises the config without secrets', () => {
    expect(describeConfig(config)).toBe(
      [
        `store: PostgreSQL at postgres://sluice:${REDACTED}@db/sluice`,
        'server: 127.0.0.1:8080, auth on, 1 API key(s)',
        'pipeline daily: ga4; cron "0 8 * * *" Europe/Berlin, webhook (slack), api -> slack, bucket, db',
        'pipeline off (disabled): ga4; no trigger -> db',
      ].join('\n'),
    );
    const embedded = parseSluiceConfig({
      plugins: ['sluice-plugin-x'],
      connections: { main: { kind: 'ga4' } },
      destinations: { out: { kind: 'file' } },
      pipelines: { p: { source: { connection: 'main' }, defaultRoute: { to: ['out'] } } },
    });
    expect(describeConfig(embedded)).toBe(
      [
        'store: PGlite in ./.sluice',
        'server: 127.0.0.1:8080, auth on, 0 API key(s)',
        'plugins: sluice-plugin-x',
        'pipeline p: ga4 via connection main; api -> out',
      ].join('\n'),
    );
  });
});
