// The published JSON Schema of sluice.yaml (toJsonSchema with every built-in plugin, as
// docs/public/sluice.schema.json ships it) against real documents: the example configurations
// and every YAML config example of the package READMEs must validate, typos must not, and every
// plugin option must carry a description (editors show it on hover; docs/configuration.md
// renders it in its table).
//
// It lives here rather than in packages/config because it needs the server's registry of
// built-in plugins, and @sluice/config must not depend on @sluice/server (the server depends on
// it; the dependency would be circular in the Nx project graph).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseConfigText, toJsonSchema } from '@sluice/config';
import type { PluginDefinition } from '@sluice/core';
import { createRegistry } from '@sluice/server';

type Schema = Record<string, unknown>;

const root = resolve(import.meta.dirname, '../..');

const isPlugin = (value: unknown): value is PluginDefinition =>
  typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'plugin';

/** The built-in plugins, plus the example third-party connector the READMEs configure. */
async function documentedRegistry() {
  const registry = createRegistry();
  const module = (await import('sluice-plugin-http-json')) as Record<string, unknown>;
  const plugin = [module.default, module.plugin].find(isPlugin);
  if (plugin === undefined) throw new Error('sluice-plugin-http-json does not export its plugin');
  registry.register(plugin);
  return registry;
}

const schemaPromise = documentedRegistry().then((registry) => toJsonSchema({ registry }) as Schema);
let compiled: ValidateFunction | undefined;
async function validator(): Promise<ValidateFunction> {
  compiled ??= new Ajv({ strict: false, allErrors: true, logger: false }).compile(
    await schemaPromise,
  );
  return compiled;
}

/** Ajv's errors as readable lines, without the noise of the branch-selection keywords. */
function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .filter((e) => !['if', 'anyOf', 'oneOf'].includes(e.keyword))
    .map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`)
    .join('\n');
}

function readmes(): string[] {
  const found = ['apps/server/README.md'];
  for (const dir of ['packages', 'packages/connectors', 'packages/destinations', 'examples']) {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const readme = `${dir}/${entry.name}/README.md`;
      if (readdirSync(join(root, dir, entry.name)).includes('README.md')) found.push(readme);
    }
  }
  return found.sort();
}

/** The ```yaml blocks of a README that are configuration documents (top-level keys of sluice.yaml). */
function configBlocks(file: string): { line: number; document: Schema }[] {
  const text = readFileSync(join(root, file), 'utf8');
  const blocks: { line: number; document: Schema }[] = [];
  for (const match of text.matchAll(/^```ya?ml[^\n]*\n([\s\S]*?)^```/gm)) {
    const document = parseConfigText(match[1]!, 'yaml').value;
    if (document === null || typeof document !== 'object' || Array.isArray(document)) continue;
    blocks.push({
      line: text.slice(0, match.index).split('\n').length,
      document: document as Schema,
    });
  }
  return blocks;
}

const loadYaml = (path: string) =>
  parseConfigText(readFileSync(join(root, path), 'utf8'), 'yaml').value as Schema;

describe('the published JSON Schema accepts real configurations', () => {
  for (const path of ['examples/quickstart/sluice.yaml', 'examples/sluice.example.yaml']) {
    it(path, async () => {
      const validate = await validator();
      expect(validate(loadYaml(path)), describeErrors(validate)).toBe(true);
    });
  }

  const blocks = readmes().flatMap((file) =>
    configBlocks(file).map((block) => ({ file, ...block })),
  );

  it('finds the config examples of the package READMEs', () => {
    const files = new Set(blocks.map((b) => b.file));
    for (const file of [
      'packages/config/README.md',
      'packages/destinations/database/README.md',
      'packages/destinations/slack/README.md',
      'packages/connectors/bigquery/README.md',
    ]) {
      expect(files).toContain(file);
    }
    expect(blocks.length).toBeGreaterThanOrEqual(15);
  });

  for (const { file, line, document } of blocks) {
    it(`${file}:${line}`, async () => {
      const validate = await validator();
      expect(validate(document), describeErrors(validate)).toBe(true);
    });
  }
});

describe('the published JSON Schema and secret references', () => {
  const document = (destinations: Schema, extra: Schema = {}): Schema => ({
    ...extra,
    destinations,
    pipelines: {
      p: { source: { kind: 'sample' }, defaultRoute: { to: Object.keys(destinations) } },
    },
  });

  it('accepts references in patterned, formatted, enumerated and union-typed options', async () => {
    const validate = await validator();
    const config = document(
      {
        warehouse: {
          kind: 'database',
          dialect: 'postgres',
          url: '${env:WAREHOUSE_URL}',
          table: 'analytics.sessions',
          mode: '${env:WRITE_MODE}',
          columns: [{ name: 'day', type: 'date' }],
          batch: { maxRecords: 500 },
          retry: { maxAttempts: 3 },
        },
        alerts: {
          kind: 'slack',
          token: '${env:SLACK_BOT_TOKEN}',
          channel: '#alerts',
          text: 'hi',
          apiUrl: '${env:SLACK_API_URL}',
        },
        lake: {
          kind: 's3',
          bucket: '${env:BUCKET}',
          storageClass: '${env:STORAGE_CLASS}',
          endpoint: 'https://${env:S3_HOST}/',
        },
        hook: {
          kind: 'webhook',
          url: 'https://hooks.example.com/${env:HOOK_PATH}',
          signing: { secret: '${file:./webhook-secret}' },
        },
        mail: {
          kind: 'email',
          smtp: {
            host: '${env:SMTP_HOST}',
            auth: { user: 'sluice', pass: '${env:SMTP_PASSWORD}' },
          },
          from: '${env:MAIL_FROM}',
          to: '${env:MAIL_TO}',
          subject: 'Report',
          text: 'Done',
        },
      },
      {
        logging: { level: '${env:LOG_LEVEL}' },
        connections: {
          bq: {
            kind: 'bigquery',
            projectId: 'acme',
            credentials: '${file:./sa.json}',
            apiEndpoint: '${env:BQ_ENDPOINT}',
          },
          ga4: {
            kind: 'ga4',
            propertyId: '${env:GA4_PROPERTY}',
            credentials: {
              type: 'service-account',
              clientEmail: '${env:GA4_EMAIL}',
              privateKey: '${env:GA4_KEY}',
            },
          },
        },
      },
    );
    expect(validate(config), describeErrors(validate)).toBe(true);
  });

  it('still rejects typos: unknown keys in any branch, misspelled kinds, wrong types', async () => {
    const validate = await validator();
    const warehouse = {
      kind: 'database',
      dialect: 'postgres',
      url: 'postgres://db/app',
      table: 't',
      columns: [{ name: 'a', type: 'text' }],
    };
    const broken = document(
      {
        warehouse: { ...warehouse, tabel: 'x' },
        lite: {
          kind: 'database',
          dialect: 'sqlite',
          file: './x.db',
          table: 't',
          columns: [{ name: 'a', type: 'text' }],
          url: 'postgres://db',
        },
        alerts: { kind: 'slak', token: 'xoxb-1', channel: '#a', text: 'x' },
        files: { kind: 'file', root: './out', path: 'a.ndjson', format: 'xml' },
        metrics: {
          kind: 'prometheus',
          metrics: [{ name: 'm', type: 'gauge', help: 'h', value: 'v', lables: {} }],
        },
      },
      { server: { port: '${env:PORT}' } },
    );
    expect(validate(broken)).toBe(false);
    const messages = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    expect(messages).toContain('/destinations/warehouse must NOT have additional properties');
    expect(messages).toContain('/destinations/lite must NOT have additional properties');
    expect(messages).toContain(
      '/destinations/alerts/kind must be equal to one of the allowed values',
    );
    expect(messages).toContain(
      '/destinations/files/format must be equal to one of the allowed values',
    );
    expect(messages).toContain(
      '/destinations/metrics/metrics/0 must NOT have additional properties',
    );
    // A reference produces a string; numbers must be written in the file.
    expect(messages).toContain('/server/port must be integer');
  });
});

/** Every property below `node` whose schema has no description, as dotted paths. */
function undocumented(
  node: unknown,
  path: string,
  defs: Record<string, Schema>,
  seen = new Set<unknown>(),
): string[] {
  if (node === null || typeof node !== 'object' || seen.has(node)) return [];
  seen.add(node);
  const schema = node as Schema;
  const target =
    typeof schema.$ref === 'string' ? defs[schema.$ref.replace('#/$defs/', '')] : schema;
  if (target === undefined) return [`${path} (dangling ${String(schema.$ref)})`];
  const missing: string[] = [];
  for (const [key, child] of Object.entries((target.properties ?? {}) as Record<string, Schema>)) {
    const described = typeof child.description === 'string' && child.description.trim() !== '';
    const refDescribed =
      typeof child.$ref === 'string' &&
      typeof defs[child.$ref.replace('#/$defs/', '')]?.description === 'string';
    if (!described && !refDescribed) missing.push(`${path}.${key}`);
    missing.push(...undocumented(child, `${path}.${key}`, defs, seen));
  }
  for (const key of ['additionalProperties', 'items'])
    missing.push(...undocumented(target[key], `${path}[]`, defs, seen));
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    for (const branch of (target[key] ?? []) as unknown[])
      missing.push(...undocumented(branch, path, defs, seen));
  }
  return missing;
}

describe('plugin options in the published JSON Schema', () => {
  it('every option of every built-in connector, destination and transform has a description', () => {
    // Built-in plugins only: the example third-party plugin is not part of the product's docs.
    const schema = toJsonSchema({ registry: createRegistry() }) as Schema;
    const defs = schema.$defs as Record<string, Schema>;
    const properties = schema.properties as Record<string, Schema>;
    const pipeline = properties.pipelines!.additionalProperties as Schema;
    const route = ((pipeline.properties as Record<string, Schema>).routes!.items as Schema)
      .properties as Record<string, Schema>;
    const sections: [string, Schema][] = [
      ['connections.<name>', properties.connections!.additionalProperties as Schema],
      ['destinations.<name>', properties.destinations!.additionalProperties as Schema],
      ['transform', route.transform!.items as Schema],
    ];
    const missing: string[] = [];
    let kinds = 0;
    for (const [section, node] of sections) {
      for (const branch of (node.allOf ?? []) as {
        if: { properties: { kind: { const: string } } };
        then: Schema;
      }[]) {
        kinds++;
        const kind = branch.if.properties.kind.const;
        if (typeof branch.then.description !== 'string')
          missing.push(`${section} (kind: ${kind}) has no description`);
        missing.push(...undocumented(branch.then, `${section}[kind: ${kind}]`, defs));
      }
    }
    expect(kinds).toBeGreaterThanOrEqual(20);
    expect(
      missing,
      "describe each option with v.description(...) in its plugin's config schema",
    ).toEqual([]);
  });
});
