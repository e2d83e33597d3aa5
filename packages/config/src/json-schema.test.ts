import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseConfigText, toJsonSchema } from './index.js';
import { testRegistry } from './__fixtures__/registry.js';

type Schema = Record<string, unknown>;

const example = parseConfigText(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../examples/sluice.example.yaml'), 'utf8'),
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
    for (const [key, child] of Object.entries((target.properties ?? {}) as Record<string, Schema>)) {
      out.push([`${path}.${key}`, child]);
      visit(child, `${path}.${key}`);
    }
    for (const key of ['additionalProperties', 'items'] as const) {
      const child = target[key];
      if (child && typeof child === 'object' && !Array.isArray(child)) visit(child as Schema, `${path}.*`);
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
    expect((toJsonSchema({ target: 'draft-2020-12' }) as Schema).$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('describes every key and shows its default', () => {
    const all = properties(schema);
    expect(all.length).toBeGreaterThan(60);
    const undocumented = all.filter(([, node]) => typeof node.description !== 'string' && typeof node.$ref !== 'string').map(([path]) => path);
    expect(undocumented).toEqual([]);
    const defaults = Object.fromEntries(all.filter(([, node]) => 'default' in node).map(([path, node]) => [path, node.default]));
    expect(defaults).toMatchObject({
      '.server.port': 8080,
      '.server.host': '127.0.0.1',
      '.server.auth': true,
      '.server.rateLimit.perMinute': 600,
      '.store.dataDir': './.sluice',
      '.logging.level': 'info',
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
    const broken = structuredClone(example) as { server: Schema; pipelines: Record<string, Schema> };
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
          routes: [{ name: 'r', transform: [{ kind: 'pick', fields: ['a'] }], to: ['warehouse', 'alerts'] }],
        },
        q: { source: { kind: 'ga4', propertyId: '1', credentials: 'c' }, defaultRoute: { to: ['alerts'] } },
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
    expect(messages).toContain('/destinations/alerts/kind must be equal to one of the allowed values');
    expect(messages).toContain('/pipelines/p/routes/0/transform/0 must NOT have additional properties');
    // A plugin's recursive definitions are hoisted under a unique prefix.
    expect(Object.keys(withPlugins.$defs as Schema).some((key) => key.startsWith('destination.slack.'))).toBe(true);
    const destination = ((withPlugins.properties as Record<string, Schema>).destinations!.additionalProperties as Schema);
    expect((destination.properties as Record<string, Schema>).kind!.enum).toEqual(['database', 'slack']);
    const branch = (destination.allOf as Schema[]).find((b) => JSON.stringify(b.if).includes('"database"'))!;
    expect((branch.then as Schema).description).toBe('SQL tables');
  });
});
