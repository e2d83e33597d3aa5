// Type tests: they lock the public types. `tsc` (the typecheck target) fails when they break.
import * as v from 'valibot';
import { expectTypeOf } from 'vitest';
import {
  capabilitiesOf,
  defineConnector,
  defineDestination,
  defineTransform,
  type Batch,
  type ConnectorDefinition,
  type DestinationCapabilities,
  type JsonValue,
  type Page,
  type PluginContext,
  type SluiceRecord,
  type TransformFn,
} from './index.js';

const connector = defineConnector({
  kind: 'typed',
  version: '1.0.0',
  configSchema: v.object({ url: v.string(), limit: v.optional(v.number(), 100) }),
  create(config, ctx) {
    expectTypeOf(config).toEqualTypeOf<{ url: string; limit: number }>();
    expectTypeOf(ctx).toEqualTypeOf<PluginContext>();
    return {
      async *read(request, signal) {
        expectTypeOf(request.state).toEqualTypeOf<JsonValue | undefined>();
        expectTypeOf(signal).toEqualTypeOf<AbortSignal>();
        yield { records: [{ a: 1 }], state: 'cursor' } satisfies Page;
      },
    };
  },
});
expectTypeOf(connector).toEqualTypeOf<ConnectorDefinition<{ url: string; limit: number }>>();

const destination = defineDestination({
  kind: 'typed-dest',
  version: '1.0.0',
  configSchema: v.object({ mode: v.picklist(['insert', 'upsert']) }),
  capabilities: (config) => ({ idempotent: config.mode === 'upsert' }),
  create: () => ({
    async write(batch) {
      expectTypeOf(batch).toEqualTypeOf<Batch>();
      expectTypeOf(batch.records).toEqualTypeOf<readonly SluiceRecord[]>();
    },
  }),
});
expectTypeOf(
  capabilitiesOf(destination, { mode: 'insert' as const }),
).toEqualTypeOf<DestinationCapabilities>();

const transform = defineTransform({
  kind: 'typed-transform',
  version: '1.0.0',
  configSchema: v.object({ field: v.string() }),
  create: (config) => {
    expectTypeOf(config.field).toBeString();
    return (record) => record;
  },
});
expectTypeOf(transform.create).returns.toEqualTypeOf<TransformFn>();

// A record's values must be JSON.
// @ts-expect-error functions are not JSON
const notARecord: SluiceRecord = { f: () => 1 };
void notARecord;
