import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { PluginRegistry, defineDestination, definePlugin } from '@sluice/core';
import { parseConfigText, toJsonSchema } from './index.js';
import { SECRET_REFERENCE_PATTERN, acceptReferences } from './json-schema-references.js';
import { ga4Connector, pickTransform, testRegistry } from './__fixtures__/registry.js';

type Schema = Record<string, unknown>;

const example = parseConfigText(
  readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), '../../../examples/sluice.example.yaml'),
    'utf8',
  ),
).value as Schema;

function compile(schema: object) {
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

/** Every property schema of the tree (following $refs once), with its dotted path. */
function properties(root: Schema): [string, Schema][] {
  const defs = (root.$defs ?? {}) as Record<string, Schema>;
  const out: [string, Schema][] = [];
  const seen = new Set<Schema>();
  const visit = (node: Schema, path: string) => {
    if (seen.has(node)) return;
    seen.add(node);
    const target = typeof node.$ref === 'string' ? defs[node.$ref.replace('#/$defs/', '')]! : node;
    for (const [key, child] of Object.entries(
      (target.properties ?? {}) as Record<string, Schema>,
    )) {
      out.push([`${path}.${key}`, child]);
      visit(child, `${path}.${key}`);
    }
    for (const key of ['additionalProperties', 'items'] as const) {
      const child = target[key];
      if (child && typeof child === 'object' && !Array.isArray(child))
        visit(child as Schema, `${path}.*`);
    }
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      for (const child of (target[key] ?? []) as Schema[]) visit(child, path);
    }
  };
  visit(root, '');
  return out;
}

describe('toJsonSchema', () => {
  const schema = toJsonSchema() as Schema;

  it('exports a draft-07 schema with title and description', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.title).toBe('Sluice configuration');
    expect(schema.additionalProperties).toBe(false);
    expect((toJsonSchema({ target: 'draft-2020-12' }) as Schema).$schema).toBe(
      'https://json-schema.org/draft/2020-12/schema',
    );
  });

  it('describes every key and shows its default', () => {
    const all = properties(schema);
    expect(all.length).toBeGreaterThan(60);
    const undocumented = all
      .filter(([, node]) => typeof node.description !== 'string' && typeof node.$ref !== 'string')
      .map(([path]) => path);
    expect(undocumented).toEqual([]);
    const defaults = Object.fromEntries(
      all.filter(([, node]) => 'default' in node).map(([path, node]) => [path, node.default]),
    );
    expect(defaults).toMatchObject({
      '.server.port': 8080,
      '.server.host': '127.0.0.1',
      '.server.auth': true,
      '.server.rateLimit.perMinute': 600,
      '.store.dataDir': './.sluice',
      '.logging.level': 'info',
      '.logging.format': 'auto',
      '.pipelines.*.enabled': true,
      '.pipelines.*.schedule.timezone': 'UTC',
      '.pipelines.*.schedule.missed': 'skip',
      '.pipelines.*.webhook.toleranceSeconds': 300,
      '.pipelines.*.routes.*.priority': 0,
      '.pipelines.*.routes.*.mode': 'continue',
      '.pipelines.*.routes.*.onError': 'dead-letter',
      '.pipelines.*.concurrency.allowOverlap': false,
    });
  });

  it('accepts the example and rejects a broken copy', () => {
    const validate = compile(schema);
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    const broken = structuredClone(example) as {
      server: Schema;
      pipelines: Record<string, Schema>;
    };
    broken.server.port = '8080';
    broken.server.prot = 1;
    (broken.pipelines['ga4-daily']!.routes as Schema[])[0]!.mode = 'first';
    expect(validate(broken)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => e.instancePath);
    expect(paths).toContain('/server/port');
    expect(paths).toContain('/server');
    expect(paths).toContain('/pipelines/ga4-daily/routes/0/mode');
  });

  it('includes plugin kinds from a registry, selected by kind', () => {
    const withPlugins = toJsonSchema({ registry: testRegistry() }) as Schema;
    const validate = compile(withPlugins);
    const valid = {
      connections: { main: { kind: 'ga4', credentials: 'c' } },
      destinations: {
        warehouse: { kind: 'database', url: 'postgres://db', table: 't', batch: { maxRecords: 5 } },
        alerts: { kind: 'slack', token: 't', channel: '#c', mentions: ['@here'] },
      },
      pipelines: {
        p: {
          source: { connection: 'main', propertyId: '1' },
          routes: [
            {
              name: 'r',
              transform: [{ kind: 'pick', fields: ['a'] }],
              to: ['warehouse', 'alerts'],
            },
          ],
        },
        q: {
          source: { kind: 'ga4', propertyId: '1', credentials: 'c' },
          defaultRoute: { to: ['alerts'] },
        },
      },
    };
    expect(validate(valid), JSON.stringify(validate.errors)).toBe(true);
    const invalid = structuredClone(valid);
    delete (invalid.destinations.warehouse as Partial<typeof invalid.destinations.warehouse>).table;
    (invalid.destinations.alerts as Schema).kind = 'slak';
    (invalid.pipelines.p.routes[0]!.transform[0] as Schema).extra = true;
    expect(validate(invalid)).toBe(false);
    const messages = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    expect(messages).toContain("/destinations/warehouse must have required property 'table'");
    expect(messages).toContain(
      '/destinations/alerts/kind must be equal to one of the allowed values',
    );
    expect(messages).toContain(
      '/pipelines/p/routes/0/transform/0 must NOT have additional properties',
    );
    // A plugin's recursive definitions are hoisted under a unique prefix.
    expect(
      Object.keys(withPlugins.$defs as Schema).some((key) => key.startsWith('destination.slack.')),
    ).toBe(true);
    const destination = (withPlugins.properties as Record<string, Schema>).destinations!
      .additionalProperties as Schema;
    expect((destination.properties as Record<string, Schema>).kind!.enum).toEqual([
      'database',
      'slack',
    ]);
    const branch = (destination.allOf as Schema[]).find((b) =>
      JSON.stringify(b.if).includes('"database"'),
    )!;
    expect((branch.then as Schema).description).toBe('SQL tables');
  });
});

// Plugin schemas shaped like the built-in ones where the export used to go wrong: a union of
// strict objects (the database destination's dialects) and strings with a pattern, a format and
// an enum (a Slack token, a URL, a mode).
const dialectDestination = defineDestination({
  kind: 'sql',
  version: '1.0.0',
  configSchema: v.variant('dialect', [
    v.strictObject({
      dialect: v.literal('postgres'),
      url: v.pipe(v.string(), v.regex(/^postgres:\/\//), v.description('Connection URL.')),
      mode: v.optional(
        v.pipe(v.picklist(['insert', 'upsert']), v.description('Write mode.')),
        'insert',
      ),
      poolSize: v.optional(v.pipe(v.number(), v.integer(), v.description('Connections.')), 4),
    }),
    v.strictObject({
      dialect: v.literal('sqlite'),
      file: v.pipe(v.string(), v.minLength(1), v.description('Database file.')),
    }),
  ]),
  capabilities: { idempotent: true },
  create: () => ({ async write() {} }),
});

const chatDestination = defineDestination({
  kind: 'chat',
  version: '1.0.0',
  configSchema: v.strictObject({
    token: v.pipe(v.string(), v.regex(/^xox[a-z]-\S+$/), v.description('Bot token.')),
    webhook: v.optional(v.pipe(v.string(), v.url(), v.description('Incoming webhook URL.'))),
    auth: v.optional(v.strictObject({ user: v.pipe(v.string(), v.description('User.')) })),
  }),
  capabilities: { idempotent: false },
  create: () => ({ async write() {} }),
});

function referenceRegistry(): PluginRegistry {
  return new PluginRegistry().register(
    definePlugin({
      name: 'reference-test',
      sluice: '^1',
      connectors: [ga4Connector],
      destinations: [dialectDestination, chatDestination],
      transforms: [pickTransform],
    }),
  );
}

/** A document with one pipeline that sends everything to `destinations`. */
function withDestinations(destinations: Record<string, Schema>, extra: Schema = {}): Schema {
  return {
    ...extra,
    destinations,
    pipelines: {
      p: {
        source: { kind: 'ga4', propertyId: '1', credentials: 'c' },
        defaultRoute: { to: Object.keys(destinations) },
      },
    },
  };
}

describe('toJsonSchema with union plugin schemas and secret references', () => {
  const schema = toJsonSchema({ registry: referenceRegistry() }) as Schema;
  const validate = compile(schema);
  const errorsOf = (document: Schema) => {
    expect(validate(document)).toBe(false);
    return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };

  it('accepts the engine keys in every branch of a union plugin schema', () => {
    const postgres = {
      kind: 'sql',
      dialect: 'postgres',
      url: 'postgres://db/app',
      batch: { maxRecords: 10 },
      retry: { maxAttempts: 2 },
      concurrency: 2,
    };
    const sqlite = { kind: 'sql', dialect: 'sqlite', file: './data.db', batch: { maxWaitMs: 0 } };
    const document = withDestinations({ pg: postgres, lite: sqlite });
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
  });

  it('still rejects unknown keys, wrong branches and misspelled kinds', () => {
    expect(
      errorsOf(
        withDestinations({
          pg: { kind: 'sql', dialect: 'postgres', url: 'postgres://db', tabel: 't' },
        }),
      ),
    ).toContain('/destinations/pg must NOT have additional properties');
    expect(
      errorsOf(
        withDestinations({ lite: { kind: 'sql', dialect: 'sqlite', url: 'postgres://db' } }),
      ),
    ).toContain("/destinations/lite must have required property 'file'");
    expect(
      errorsOf(withDestinations({ pg: { kind: 'sql', dialect: 'oracle', url: 'postgres://db' } })),
    ).toContain('/destinations/pg must match exactly one schema in oneOf');
    expect(
      errorsOf(
        withDestinations({ pg: { kind: 'sqll', dialect: 'postgres', url: 'postgres://db' } }),
      ),
    ).toContain('/destinations/pg/kind must be equal to one of the allowed values');
    // A wrong value that is not a reference still fails its pattern and enum.
    const wrong = errorsOf(
      withDestinations({
        pg: { kind: 'sql', dialect: 'postgres', url: 'mysql://db', mode: 'merge' },
      }),
    );
    expect(wrong).toContain('/destinations/pg/url must match pattern "^postgres:\\/\\/"');
    expect(wrong).toContain('/destinations/pg/mode must be equal to one of the allowed values');
  });

  it('accepts a reference wherever a string has a pattern, format or enum', () => {
    const document = withDestinations(
      {
        pg: {
          kind: 'sql',
          dialect: 'postgres',
          url: '${env:WAREHOUSE_URL}',
          mode: '${env:WRITE_MODE}',
        },
        chat: {
          kind: 'chat',
          token: '${file:/run/secrets/slack-token}',
          webhook: 'https://hooks.example.com/${env:HOOK_PATH}',
        },
        partial: {
          kind: 'sql',
          dialect: 'postgres',
          url: 'postgres://app:${env:PG_PASSWORD}@db:5432/app',
        },
      },
      { logging: { level: '${env:LOG_LEVEL}' } },
    );
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects references where the loader would: numbers, objects, kinds, and escaped or malformed references', () => {
    const base = { kind: 'sql', dialect: 'postgres', url: 'postgres://db' };
    expect(errorsOf(withDestinations({ pg: { ...base, poolSize: '${env:POOL_SIZE}' } }))).toContain(
      '/destinations/pg/poolSize must be integer',
    );
    expect(
      errorsOf(withDestinations({ chat: { kind: 'chat', token: 'xoxb-1', auth: '${env:AUTH}' } })),
    ).toContain('/destinations/chat/auth must be object');
    expect(errorsOf(withDestinations({ pg: { ...base, kind: '${env:KIND}' } }))).toContain(
      '/destinations/pg/kind must be equal to one of the allowed values',
    );
    // `$${` is the escape of a literal "${"; `${env:1X}` is not a valid variable name.
    for (const token of ['$${env:SLACK_TOKEN}', '${env:1X}', '${vault:slack}']) {
      expect(errorsOf(withDestinations({ chat: { kind: 'chat', token } }))).toContain(
        '/destinations/chat/token must match a schema in anyOf',
      );
    }
  });

  it('keeps descriptions and defaults next to the reference alternative', () => {
    const destination = (schema.properties as Record<string, Schema>).destinations!
      .additionalProperties as Schema;
    const sql = (
      (destination.allOf as Schema[]).find((b) => JSON.stringify(b.if).includes('"sql"'))!
        .then as Schema
    ).oneOf as Schema[];
    const postgres = sql[0]!.properties as Record<string, Schema>;
    expect(postgres.mode).toEqual({
      type: 'string',
      description: 'Write mode.',
      default: 'insert',
      anyOf: [{ type: 'string', enum: ['insert', 'upsert'] }, { $ref: '#/$defs/secretReference' }],
    });
    // Engine keys are merged into each branch; a discriminator stays a plain const.
    expect(Object.keys(postgres)).toEqual(
      expect.arrayContaining(['kind', 'batch', 'retry', 'concurrency', 'dialect', 'url']),
    );
    expect(postgres.dialect).toEqual({ const: 'postgres' });
    expect((schema.$defs as Record<string, Schema>).secretReference).toMatchObject({
      type: 'string',
      pattern: SECRET_REFERENCE_PATTERN,
    });
  });

  it('adds one reference alternative to a union of strings, and none when a branch takes any string', () => {
    const reference = { $ref: '#/$defs/secretReference' };
    expect(
      acceptReferences({ anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\d+$' }] }),
    ).toEqual({
      anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\d+$' }, reference],
    });
    expect(
      acceptReferences({
        anyOf: [
          { type: 'string', minLength: 1 },
          { type: 'string', format: 'uri' },
        ],
      }),
    ).toEqual({
      anyOf: [
        { type: 'string', minLength: 1 },
        { type: 'string', format: 'uri' },
      ],
    });
    expect(acceptReferences({ type: 'string', minLength: 1, maxLength: 5 })).toEqual({
      type: 'string',
      minLength: 1,
      anyOf: [{ type: 'string', maxLength: 5 }, reference],
    });
    // `if` conditions select branches by literal values: they are left alone.
    const conditional = {
      if: { properties: { kind: { enum: ['a'] } } },
      then: { properties: { x: { enum: ['b'] } } },
    };
    expect((acceptReferences(conditional) as Schema).if).toEqual(conditional.if);
  });

  it('matches references the way the loader resolves them', () => {
    const pattern = new RegExp(SECRET_REFERENCE_PATTERN);
    for (const text of [
      '${env:A}',
      '${file:./sa.json}',
      'Bearer ${env:TOKEN}',
      'postgres://u:${env:PW}@db/x',
      'a$b${env:X}',
    ]) {
      expect(pattern.test(text), text).toBe(true);
    }
    for (const text of [
      '$${env:A}',
      '${env:}',
      '${env:9A}',
      '${file:}',
      '${secret:x}',
      '$env:A',
      'plain',
    ]) {
      expect(pattern.test(text), text).toBe(false);
    }
  });
});
