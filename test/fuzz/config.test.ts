// Fuzzing configuration documents: arbitrary text, arbitrary YAML/JSON documents and random
// mutations of a valid configuration. `loadConfig` (structural, and with a registry holding every
// built-in plugin, which validates plugin sections) either returns a config or throws one
// ConfigError whose issues each carry a path and a message; it never throws anything else.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, type JsonValue } from '@sluice/core';
import { loadConfig } from '@sluice/config';
import { createRegistry } from '@sluice/server';
import { fieldName, jsonValue, scalar } from './arbitraries.js';

const RUNS = 250;
const registry = createRegistry();
const env = { ADMIN_KEY: 'admin-key-0123456789', WEBHOOK_SECRET: 'whsec_c2VjcmV0', EMPTY: '' };

/** A valid configuration touching most sections and several plugin kinds. */
const VALID = {
  version: 1,
  store: { dataDir: './.sluice-fuzz' },
  server: {
    port: 8080,
    apiKeys: [{ name: 'admin', key: '${env:ADMIN_KEY}', scopes: ['admin'] }],
    rateLimit: { perMinute: 100 },
  },
  logging: { level: 'info' },
  destinations: {
    files: {
      kind: 'file',
      root: '/tmp/sluice-fuzz',
      path: 'out/{{batch.id}}.ndjson',
      format: 'ndjson',
      batch: { maxRecords: 100 },
    },
    warehouse: {
      kind: 'database',
      dialect: 'postgres',
      url: 'postgres://postgres@127.0.0.1:5432/test',
      table: 'fuzz_table',
      mode: 'upsert',
      key: ['id'],
      columns: [
        { name: 'id', type: 'bigint', primaryKey: true },
        { name: 'name', type: 'text' },
      ],
      retry: { maxAttempts: 3 },
    },
    hook: { kind: 'webhook', url: 'https://hooks.example.com/x', mode: 'batch' },
    gauge: {
      kind: 'prometheus',
      metrics: [
        {
          name: 'fuzz_sessions',
          type: 'gauge',
          help: 'Sessions',
          value: 'sessions',
          labels: { channel: 'channel' },
        },
      ],
    },
  },
  pipelines: {
    traffic: {
      source: { kind: 'sample', perRun: 10, pageSize: 5 },
      schedule: { cron: '0 8 * * *', timezone: 'Europe/Berlin' },
      routes: [
        {
          name: 'paid',
          priority: 10,
          when: { path: '$.channel', op: 'eq', value: 'paid' },
          to: ['hook'],
          transform: [{ kind: 'set', field: 'source', value: 'fuzz' }],
        },
        { name: 'all', to: ['files', 'warehouse'] },
      ],
      defaultRoute: { to: ['files'] },
    },
    inbound: {
      source: { kind: 'sample', total: 0 },
      webhook: { verify: 'standard-webhooks', secret: '${env:WEBHOOK_SECRET}', payload: 'records' },
      routes: [{ name: 'keep', to: ['files'] }],
    },
  },
} as const;

function expectTypedFailure(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error, `threw ${String(error)}`).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(issues.length).toBeGreaterThan(0);
    expect(message.length).toBeGreaterThan(0);
    for (const issue of issues) {
      expect(typeof issue.path).toBe('string');
      expect(issue.message.length, JSON.stringify(issue)).toBeGreaterThan(0);
    }
  }
}

function loadBoth(input: string | object): void {
  expectTypedFailure(() => loadConfig(input, { env }));
  expectTypedFailure(() => loadConfig(input, { env, registry }));
}

/** Every path (list of keys) into a JSON value, the root included. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

type Mutation = { at: number; kind: 'replace' | 'delete' | 'add'; key: string; value: JsonValue };

function mutate(base: unknown, mutations: Mutation[]): unknown {
  const doc = structuredClone(base) as Record<string, unknown>;
  for (const m of mutations) {
    const paths = pathsOf(doc);
    const path = paths[m.at % paths.length]!;
    if (path.length === 0) continue;
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], doc) as Record<
      string | number,
      unknown
    >;
    const key = path.at(-1)!;
    if (m.kind === 'replace') parent[key] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (
      parent[key] !== null &&
      typeof parent[key] === 'object' &&
      !Array.isArray(parent[key])
    ) {
      (parent[key] as Record<string, unknown>)[m.key] = m.value;
    }
  }
  return doc;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('replace', 'delete', 'add'),
  key: fieldName,
  value: fc.oneof(
    jsonValue,
    fc.constantFrom<JsonValue>(
      '${env:MISSING}',
      '${file:/nonexistent/secret}',
      '${env:EMPTY}',
      '$${env:X}',
      '${',
      '${env:}',
      '${vault:x}',
      -1,
      1e21,
      '0 8 * * * * *',
      'Mars/Olympus',
      '$[?',
      'x'.repeat(5000),
    ),
  ),
});

describe('configuration documents under fuzzing', () => {
  it('accept the valid base document, structurally and with every built-in plugin', () => {
    expect(Object.keys(loadConfig(VALID, { env }).pipelines)).toEqual(['traffic', 'inbound']);
    expect(Object.keys(loadConfig(stringify(VALID), { env, registry }).destinations)).toHaveLength(
      4,
    );
  });

  it('answer arbitrary text with a config or a ConfigError', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc
        .array(
          fc.constantFrom(
            'pipelines:',
            'destinations:',
            '  x:',
            '    kind: file',
            '- ',
            '&a',
            '*a',
            '<<: *a',
            '!!js/function',
            '!!binary',
            '{',
            '[',
            '"',
            "'",
            '\t',
            '---',
            '...',
            '%YAML 1.1',
            'key: value',
            ': :',
            '? ',
          ),
          { maxLength: 12 },
        )
        .map((l) => l.join('\n')),
    );
    fc.assert(
      fc.property(text, (t) => loadBoth(t)),
      { numRuns: RUNS * 2 },
    );
  });

  it('answer arbitrary JSON documents (as objects and as YAML text) with a config or a ConfigError', () => {
    const doc = fc.oneof(
      jsonValue,
      fc.dictionary(
        fc.constantFrom(
          'version',
          'store',
          'server',
          'logging',
          'plugins',
          'connections',
          'destinations',
          'pipelines',
          'extra',
        ),
        jsonValue,
        { maxKeys: 6 },
      ),
    );
    fc.assert(
      fc.property(doc, (value) => {
        if (value !== null && typeof value === 'object') loadBoth(value);
        loadBoth(stringify(value));
      }),
      { numRuns: RUNS },
    );
  });

  it('answer random mutations of a valid configuration with a config or a ConfigError', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const doc = mutate(VALID, mutations);
        loadBoth(doc as object);
        loadBoth(JSON.stringify(doc));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('reject a broken plugin section with an issue naming the field', () => {
    const config = structuredClone(VALID) as unknown as {
      destinations: { warehouse: { columns: unknown } };
    };
    config.destinations.warehouse.columns = [{ name: 'id', type: 'uuid-ish' }];
    expect(() => loadConfig(config, { env, registry })).toThrow(ConfigError);
    try {
      loadConfig(config, { env, registry });
    } catch (error) {
      expect((error as ConfigError).issues.map((i) => i.path).join()).toContain(
        'destinations.warehouse.columns[0].type',
      );
    }
  });

  it('survive hostile YAML: alias bombs, deep nesting and huge scalars', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
    ].join('\n');
    loadBoth(bomb);
    loadBoth(`pipelines: ${'['.repeat(5000)}${']'.repeat(5000)}`);
    loadBoth(`pipelines:\n  p:\n    description: ${'x'.repeat(1_000_000)}`);
    loadBoth({ pipelines: JSON.parse(`${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`) });
    fc.assert(
      fc.property(scalar, (s) =>
        loadBoth({ pipelines: { p: { source: { kind: s }, routes: [{ name: s, to: [s] }] } } }),
      ),
      { numRuns: RUNS },
    );
  });
});
