// A small plugin registry for tests: kinds with strict schemas, so plugin validation has
// something to find.
import * as v from 'valibot';
import {
  PluginRegistry,
  defineConnector,
  defineDestination,
  definePlugin,
  defineTransform,
} from '@sluice/core';

export const warehouseDestination = defineDestination({
  kind: 'database',
  version: '1.0.0',
  description: 'SQL tables',
  configSchema: v.strictObject({
    url: v.pipe(v.string(), v.regex(/^postgres:\/\//, 'must start with postgres://')),
    table: v.string(),
    mode: v.optional(v.picklist(['insert', 'upsert']), 'insert'),
  }),
  capabilities: { idempotent: true },
  create: () => ({ async write() {} }),
});

const columnList: v.GenericSchema<string[]> = v.lazy(() => v.array(v.string()));

export const slackDestination = defineDestination({
  kind: 'slack',
  version: '1.0.0',
  configSchema: v.strictObject({
    token: v.string(),
    channel: v.string(),
    mentions: v.optional(columnList),
  }),
  capabilities: { idempotent: false },
  create: () => ({ async write() {} }),
});

export const ga4Connector = defineConnector({
  kind: 'ga4',
  version: '1.0.0',
  configSchema: v.strictObject({
    propertyId: v.string(),
    credentials: v.string(),
    metrics: v.optional(v.array(v.string()), ['sessions']),
  }),
  create: () => ({ async *read() {} }),
});

export const pickTransform = defineTransform({
  kind: 'pick',
  version: '1.0.0',
  configSchema: v.strictObject({ fields: v.pipe(v.array(v.string()), v.minLength(1)) }),
  create: () => (record) => record,
});

export const throwingTransform = defineTransform({
  kind: 'explode',
  version: '1.0.0',
  configSchema: v.pipe(
    v.unknown(),
    v.transform(() => {
      throw new Error('schema bug');
    }),
  ),
  create: () => (record) => record,
});

export function testRegistry(): PluginRegistry {
  return new PluginRegistry().register(
    definePlugin({
      name: 'test-plugin',
      sluice: '^1',
      connectors: [ga4Connector],
      destinations: [warehouseDestination, slackDestination],
      transforms: [pickTransform, throwingTransform],
    }),
  );
}
