import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { CONDITION_OPS } from '@sluice/core';
import {
  ApiKeySchema,
  ApiTriggerSchema,
  BatchPolicySchema,
  ConditionSchema,
  ConnectionSchema,
  DEFAULTS,
  DefaultRouteSchema,
  DestinationSchema,
  JsonValueSchema,
  KindSchema,
  LoggingSchema,
  NameSchema,
  PipelineSchema,
  PluginRefSchema,
  RetryPolicySchema,
  RouteSchema,
  RunRetrySchema,
  ScheduleSchema,
  SchedulerSchema,
  ServerSchema,
  SluiceConfigSchema,
  SourceSchema,
  StoreSchema,
  TransformSchema,
  WebhookTriggerSchema,
} from './index.js';
import { problemsFromValibot } from './issues.js';

/** The problems of parsing `input`, as `path: message` strings. */
function problems(schema: v.GenericSchema, input: unknown): string[] {
  const result = v.safeParse(schema, input);
  if (result.success) return [];
  return problemsFromValibot(result.issues).map((p) => `${p.path.join('.')}: ${p.message}`);
}

describe('SluiceConfigSchema', () => {
  it('fills every default from DEFAULTS for an empty config', () => {
    const config = v.parse(SluiceConfigSchema, {});
    expect(config).toEqual({
      version: 1,
      store: DEFAULTS.store,
      server: DEFAULTS.server,
      logging: DEFAULTS.logging,
      scheduler: DEFAULTS.scheduler,
      plugins: [],
      connections: {},
      destinations: {},
      pipelines: {},
    });
  });
  it('gives every parse its own default objects', () => {
    const a = v.parse(SluiceConfigSchema, {});
    a.server.apiKeys.push({ name: 'x', key: 'k'.repeat(16), scopes: ['read'] });
    expect(v.parse(SluiceConfigSchema, {}).server.apiKeys).toEqual([]);
  });
  it('reports unknown top-level keys with a suggestion', () => {
    expect(problems(SluiceConfigSchema, { pipeline: {} })).toEqual([
      'pipeline: unknown key "pipeline" (did you mean "pipelines"?)',
    ]);
  });
  it('rejects arrays and scalars where sections are expected', () => {
    expect(problems(SluiceConfigSchema, [])).toEqual([
      ': expected a configuration object, got an array',
    ]);
    expect(problems(SluiceConfigSchema, { server: [] })).toEqual([
      'server: expected a server object, got an array',
    ]);
    expect(problems(SluiceConfigSchema, { pipelines: [] })).toEqual([
      'pipelines: expected a map of pipeline names to pipelines, got an array',
    ]);
    expect(problems(SluiceConfigSchema, { destinations: 'x' })).toEqual([
      'destinations: expected a map of destination names to destinations, got "x"',
    ]);
  });
  it('checks the version and names', () => {
    expect(problems(SluiceConfigSchema, { version: 2 })).toEqual([
      'version: expected version 1 (the only configuration format so far)',
    ]);
    expect(
      problems(SluiceConfigSchema, { destinations: { 'bad name': { kind: 'file' } } })[0],
    ).toMatch(/^destinations\.bad name: invalid name "bad name"/);
  });
  it('accepts npm names and module paths as plugins', () => {
    expect(problems(PluginRefSchema, '@acme/sluice-plugin-x')).toEqual([]);
    expect(problems(PluginRefSchema, './plugins/mine.js')).toEqual([]);
    expect(problems(PluginRefSchema, 'Not A Package')).toEqual([
      ': expected an npm package name or a ./relative or /absolute module path, got "Not A Package"',
    ]);
  });
});

describe('ServerSchema / ApiKeySchema / StoreSchema / LoggingSchema', () => {
  it('applies defaults', () => {
    expect(v.parse(ServerSchema, { port: 9000 })).toEqual({ ...DEFAULTS.server, port: 9000 });
    expect(v.parse(StoreSchema, {})).toEqual({ dataDir: './.sluice', wasmCompiler: 'baseline' });
    expect(v.parse(LoggingSchema, {})).toEqual({ level: 'info', format: 'auto' });
  });
  it('validates ports, limits and levels', () => {
    expect(
      problems(ServerSchema, { port: 70000, bodyLimitBytes: 0, rateLimit: { perMinute: 1.5 } }),
    ).toEqual([
      'port: must be at most 65535, got 70000',
      'bodyLimitBytes: must be at least 1, got 0',
      'rateLimit.perMinute: must be a whole number, got 1.5',
    ]);
    expect(problems(LoggingSchema, { level: 'verbose' })[0]).toMatch(
      /^level: expected one of "fatal", .*got "verbose"/,
    );
    expect(problems(LoggingSchema, { format: 'text' })[0]).toMatch(
      /^format: expected one of "auto", "json", "pretty".*got "text"/,
    );
    expect(problems(StoreSchema, { wasmCompiler: 'turbo' })[0]).toMatch(
      /^wasmCompiler: expected one of "baseline", "optimizing".*got "turbo"/,
    );
  });
  it('bounds how long a run may wait for an instance that can execute it (scheduler.unclaimedRunTimeoutSeconds)', () => {
    expect(v.parse(SchedulerSchema, {})).toEqual({
      unclaimedRunTimeoutSeconds: 600,
      maxQueuedRuns: 1000,
    });
    expect(
      v.parse(SluiceConfigSchema, { scheduler: { unclaimedRunTimeoutSeconds: 60 } }).scheduler,
    ).toEqual({ unclaimedRunTimeoutSeconds: 60, maxQueuedRuns: 1000 });
    expect(problems(SchedulerSchema, { maxQueuedRuns: 0 })).toEqual([
      'maxQueuedRuns: must be at least 1, got 0',
    ]);
    expect(problems(SchedulerSchema, { unclaimedRunTimeoutSeconds: 5 })).toEqual([
      'unclaimedRunTimeoutSeconds: must be at least 10, got 5',
    ]);
    expect(problems(SchedulerSchema, { unclaimedRunTimeoutSeconds: 700000 })).toEqual([
      'unclaimedRunTimeoutSeconds: must be at most 604800, got 700000',
    ]);
    expect(problems(SchedulerSchema, { unclaimedRunTimeoutSeconds: 60.5 })).toEqual([
      'unclaimedRunTimeoutSeconds: must be a whole number, got 60.5',
    ]);
    expect(problems(SchedulerSchema, { unclaimed: 60 })[0]).toMatch(
      /^unclaimed: unknown key "unclaimed"/,
    );
  });
  it('requires a postgres URL for the store', () => {
    expect(problems(StoreSchema, { url: 'mysql://x' })).toEqual([
      'url: expected a postgres:// or postgresql:// connection URL',
    ]);
    expect(v.parse(StoreSchema, { url: 'postgresql://u@h/db' }).url).toBe('postgresql://u@h/db');
    // Unresolved references pass, so a file's structure can be checked without its secrets.
    expect(v.parse(StoreSchema, { url: '${env:DATABASE_URL}' }).url).toBe('${env:DATABASE_URL}');
  });
  it('requires exactly one of key and keyHash, a long key and a scope', () => {
    const hash = 'a'.repeat(64);
    expect(problems(ApiKeySchema, { name: 'ci', key: 'k'.repeat(16), scopes: ['run'] })).toEqual(
      [],
    );
    expect(
      problems(ApiKeySchema, { name: 'ci', keyHash: hash, scopes: ['read', 'admin'] }),
    ).toEqual([]);
    expect(
      problems(ApiKeySchema, { name: 'ci', key: 'k'.repeat(16), keyHash: hash, scopes: ['run'] }),
    ).toEqual([': give exactly one of "key" or "keyHash"']);
    expect(problems(ApiKeySchema, { name: 'ci', scopes: ['run'] })).toEqual([
      ': give exactly one of "key" or "keyHash"',
    ]);
    expect(problems(ApiKeySchema, { name: 'ci', key: 'short', scopes: [] })).toEqual([
      'key: an API key must be at least 16 characters long',
      'scopes: an API key needs at least one scope',
    ]);
    expect(problems(ApiKeySchema, { name: 'ci', keyHash: 'xyz', scopes: ['write'] })).toEqual([
      'keyHash: expected a sha256 hash as 64 hexadecimal characters',
      'scopes.0: expected one of "read", "run", "admin", got "write"',
    ]);
  });
});

describe('ConditionSchema', () => {
  it('accepts every documented shape', () => {
    const when = {
      all: [
        '$[?@.sessions > 100]',
        { jsonpath: '$.utm.campaign' },
        { filter: "@.sessions > 100 && @.country == 'DE'" },
        {
          any: [
            { path: '$.channel', op: 'in', value: ['email', 'paid'] },
            { not: { path: '$.bot', op: 'exists' } },
          ],
        },
      ],
    };
    expect(v.parse(ConditionSchema, when)).toEqual(when);
    for (const op of CONDITION_OPS) {
      const value = op === 'in' || op === 'nin' ? [1] : op === 'matches' ? '^a' : 1;
      expect(problems(ConditionSchema, { path: '$.x', op, value }), op).toEqual([]);
    }
  });
  it('points inside the variant that failed', () => {
    expect(problems(ConditionSchema, { all: [{ path: '$.x', op: 'gtt', value: 1 }] })).toEqual([
      'all.0.op: expected one of "eq", "ne", "lt", "lte", "gt", "gte", "in", "nin", "exists", "contains", "startsWith", "endsWith", "matches", got "gtt" (did you mean "gt"?)',
    ]);
    expect(problems(ConditionSchema, { not: { jsonpath: '' } })).toEqual([
      'not.jsonpath: a JSONPath query must not be empty',
    ]);
    expect(problems(ConditionSchema, { not: { filter: '' } })).toEqual([
      'not.filter: a filter expression must not be empty',
    ]);
    expect(problems(ConditionSchema, { filter: '@.a', jsonpath: '$.b' })).toEqual([
      'filter: unknown key "filter" (allowed: jsonpath)',
    ]);
    expect(problems(ConditionSchema, { any: [] })).toEqual(['any: must not be empty']);
    expect(problems(ConditionSchema, { all: [1] })[0]).toMatch(
      /^all\.0: expected a JSONPath string or an object with/,
    );
    expect(problems(ConditionSchema, { path: '$.x', op: 'eq', value: 1, extra: true })).toEqual([
      'extra: unknown key "extra" (allowed: path, op, value)',
    ]);
  });
  it('checks the value each operator needs', () => {
    expect(problems(ConditionSchema, { path: '$.x', op: 'eq' })).toEqual([
      ': operator "eq" needs a "value"',
    ]);
    expect(problems(ConditionSchema, { path: '$.x', op: 'in', value: 'a' })).toEqual([
      ': operator "in" needs an array "value"',
    ]);
    expect(problems(ConditionSchema, { path: '$.x', op: 'matches', value: 3 })).toEqual([
      ': operator "matches" needs a regular expression string as "value"',
    ]);
  });
  it('rejects non-JSON values', () => {
    expect(problems(JsonValueSchema, { a: [1, 'x', null, true, { b: 2 }] })).toEqual([]);
    expect(problems(JsonValueSchema, () => 1)).toEqual([': expected a JSON value, got a function']);
  });
});

describe('RouteSchema / DefaultRouteSchema / TransformSchema', () => {
  it('applies route defaults', () => {
    expect(v.parse(RouteSchema, { name: 'all', to: ['db'] })).toEqual({
      name: 'all',
      to: ['db'],
      priority: 0,
      mode: 'continue',
      onError: 'dead-letter',
    });
    expect(v.parse(DefaultRouteSchema, { to: ['db'] })).toEqual({
      to: ['db'],
      onError: 'dead-letter',
    });
  });
  it('keeps transform options as written', () => {
    expect(v.parse(TransformSchema, { kind: 'rename', fields: { a: 'b' } })).toEqual({
      kind: 'rename',
      fields: { a: 'b' },
    });
    expect(problems(TransformSchema, { fields: [] })).toEqual(['kind: required']);
    expect(problems(TransformSchema, { kind: 'Pick' })[0]).toMatch(/^kind: invalid kind "Pick"/);
  });
  it('reports every route problem', () => {
    expect(
      problems(RouteSchema, {
        name: '',
        to: [],
        mode: 'first',
        onError: 'retry',
        priority: 'high',
        nmae: 1,
      }),
    ).toEqual([
      'name: invalid name "": use letters, digits, "_", "." and "-", starting with a letter or digit (at most 100 characters)',
      'priority: expected number, got "high"',
      'to: a route needs at least one destination',
      'mode: expected one of "stop", "continue", got "first"',
      'onError: expected one of "dead-letter", "drop", "fail-run", got "retry"',
      'nmae: unknown key "nmae" (did you mean "name"?)',
    ]);
  });
});

describe('DestinationSchema / ConnectionSchema / policies', () => {
  it('keeps plugin options and checks engine keys', () => {
    const destination = {
      kind: 'database',
      table: 't',
      batch: { maxRecords: 10 },
      retry: { maxAttempts: 2 },
      concurrency: 2,
    };
    expect(v.parse(DestinationSchema, destination)).toEqual(destination);
    expect(problems(DestinationSchema, { table: 't', concurrency: 0 })).toEqual([
      'kind: required',
      'concurrency: must be at least 1, got 0',
    ]);
    expect(v.parse(ConnectionSchema, { kind: 'ga4', propertyId: '1' })).toEqual({
      kind: 'ga4',
      propertyId: '1',
    });
  });
  it('checks batch and retry policies', () => {
    expect(problems(BatchPolicySchema, { maxRecords: 0, maxWaitMs: -1, maxBytes: 1 })).toEqual([
      'maxRecords: must be at least 1, got 0',
      'maxWaitMs: must be at least 0, got -1',
    ]);
    expect(problems(RetryPolicySchema, { initialDelayMs: 10, maxDelayMs: 5 })).toEqual([
      ': maxDelayMs must be at least initialDelayMs',
    ]);
    expect(problems(RetryPolicySchema, { multiplier: 0.5 })).toEqual([
      'multiplier: must be at least 1, got 0.5',
    ]);
  });
  it('validates kinds', () => {
    expect(problems(KindSchema, 'http-json')).toEqual([]);
    expect(problems(NameSchema, 'ga4-daily')).toEqual([]);
  });
});

describe('PipelineSchema and triggers', () => {
  const minimal = { source: { kind: 'ga4' }, routes: [{ name: 'all', to: ['db'] }] };
  it('applies pipeline defaults', () => {
    expect(v.parse(PipelineSchema, minimal)).toEqual({
      ...minimal,
      routes: [{ name: 'all', to: ['db'], priority: 0, mode: 'continue', onError: 'dead-letter' }],
      enabled: true,
      api: { enabled: true },
      concurrency: { allowOverlap: false },
    });
    expect(v.parse(ApiTriggerSchema, {})).toEqual({ enabled: true });
    expect(v.parse(RunRetrySchema, {})).toEqual(DEFAULTS.runRetry);
  });
  it('applies schedule and webhook defaults', () => {
    expect(v.parse(ScheduleSchema, { cron: '0 8 * * *' })).toEqual({
      cron: '0 8 * * *',
      ...DEFAULTS.schedule,
    });
    expect(v.parse(ScheduleSchema, { cron: '0 8 * * *', missed: { catchUp: 2 } }).missed).toEqual({
      catchUp: 2,
    });
    expect(v.parse(WebhookTriggerSchema, { verify: 'slack', secret: 's' })).toEqual({
      verify: 'slack',
      secret: 's',
      ...DEFAULTS.webhook,
    });
    expect(v.parse(WebhookTriggerSchema, { verify: 'none' }).verify).toBe('none');
  });
  it('reports bad cron, time zone and missed policy', () => {
    expect(
      problems(ScheduleSchema, {
        cron: '0 25 * * *',
        timezone: 'Europe/Paris2',
        missed: 'replay',
        jitterMs: -5,
      }),
    ).toEqual([
      'cron: invalid cron expression "0 25 * * *": Invalid value for hour: 25 (use 5 fields (minute hour day month weekday), 6 with seconds first, 7 with a year last, or a nickname (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly))',
      'timezone: unknown time zone "Europe/Paris2" (did you mean "Europe/Paris"?)',
      'missed: expected "skip" or { catchUp: <number of runs> }',
      'jitterMs: must be at least 0, got -5',
    ]);
    expect(problems(ScheduleSchema, { cron: '0 8 * * *', timezone: 'Nowhere' })).toEqual([
      'timezone: unknown time zone "Nowhere" (use an IANA name such as "Europe/Berlin")',
    ]);
  });
  it('validates webhook inbox delivery: defaults, payload records only, no overlapping runs (issue 20)', () => {
    expect(
      v.parse(WebhookTriggerSchema, {
        verify: 'none',
        payload: 'records',
        delivery: 'inbox',
        inbox: { maxRecords: 50 },
      }),
    ).toMatchObject({
      delivery: 'inbox',
      inbox: { ...DEFAULTS.webhookInbox, maxRecords: 50 },
    });
    // Absent means `run`, a run per delivery, as before the inbox existed.
    expect(v.parse(WebhookTriggerSchema, { verify: 'none' }).delivery).toBeUndefined();
    expect(problems(WebhookTriggerSchema, { verify: 'none', delivery: 'inbox' })).toEqual([
      'delivery: `delivery: inbox` needs `payload: records` (the inbox holds records to route)',
    ]);
    expect(
      problems(WebhookTriggerSchema, { verify: 'none', payload: 'records', inbox: {} }),
    ).toEqual(['inbox: `inbox` options apply only with `delivery: inbox`']);
    expect(
      problems(WebhookTriggerSchema, {
        verify: 'none',
        payload: 'records',
        delivery: 'batch',
        inbox: { maxRecords: 0, maxWaitMs: 60_001, maxDepth: 1.5, size: 1 },
      }),
    ).toEqual([
      'delivery: expected one of "run", "inbox", got "batch"',
      'inbox.maxRecords: must be at least 1, got 0',
      'inbox.maxWaitMs: must be at most 60000, got 60001',
      'inbox.maxDepth: must be a whole number, got 1.5',
      'inbox.size: unknown key "size" (allowed: maxRecords, maxWaitMs, maxDepth)',
    ]);
    expect(
      problems(PipelineSchema, {
        ...minimal,
        webhook: { verify: 'none', payload: 'records', delivery: 'inbox' },
        concurrency: { allowOverlap: true },
      }),
    ).toEqual([
      'concurrency.allowOverlap: `concurrency.allowOverlap` cannot be on with `webhook.delivery: inbox` (drain runs of one inbox never overlap)',
    ]);
  });
  it('requires a webhook secret unless verify is none', () => {
    expect(problems(WebhookTriggerSchema, { verify: 'hubspot-v3' })).toEqual([
      ': "secret" is required with verify "hubspot-v3"',
    ]);
    expect(
      problems(WebhookTriggerSchema, { verify: 'hubspot', secret: 's', payload: 'body' }),
    ).toEqual([
      'verify: expected one of "standard-webhooks", "hubspot-v3", "slack", "none", got "hubspot"',
      'payload: expected one of "input", "records", got "body"',
    ]);
  });
  it('checks the run retry policy and timeout', () => {
    expect(
      problems(PipelineSchema, {
        ...minimal,
        timeoutMs: 0,
        retry: { initialDelayMs: 5000, maxDelayMs: 10 },
      }),
    ).toEqual([
      'timeoutMs: must be at least 1000, got 0',
      'retry: maxDelayMs must be at least initialDelayMs',
    ]);
  });
  it('keeps connector options on the source', () => {
    expect(v.parse(SourceSchema, { connection: 'ga4-main', report: 'x' })).toEqual({
      connection: 'ga4-main',
      report: 'x',
    });
    expect(problems(PipelineSchema, { routes: [] })).toEqual(['source: required']);
  });
});
