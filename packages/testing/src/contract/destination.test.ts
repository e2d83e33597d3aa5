// Runs the destination contract against a small in-memory destination, proving the suite
// passes a correct destination (its own checks are exercised by every real destination too).
import * as v from 'valibot';
import { defineDestination, FatalError, PartialBatchError, RetryableError, type SluiceRecord } from '@sluice/core';
import { testDestination } from './destination.js';

const tables = new Map<string, Map<string, SluiceRecord>>();
let outage = false;

const memoryDestination = defineDestination({
  kind: 'memory',
  version: '1.0.0',
  configSchema: v.strictObject({ table: v.pipe(v.string(), v.minLength(1)), key: v.optional(v.string(), 'id') }),
  capabilities: { idempotent: true },
  create: (config) => {
    let closed = false;
    return {
      async write(batch) {
        if (closed) throw new FatalError('closed');
        if (outage) throw new RetryableError('memory store is down', { retryAfterMs: 10 });
        const table = tables.get(config.table) ?? new Map<string, SluiceRecord>();
        tables.set(config.table, table);
        const failures: { index: number; error: Error }[] = [];
        batch.records.forEach((record, index) => {
          const key = record[config.key];
          if (key === undefined) failures.push({ index, error: new FatalError(`field "${config.key}" is missing`) });
          else table.set(JSON.stringify(key), record);
        });
        if (failures.length) throw new PartialBatchError(failures);
      },
      async close() {
        closed = true;
      },
    };
  },
});

let counter = 0;
testDestination({
  name: 'memory',
  definition: memoryDestination,
  config: () => ({ table: `t${++counter}` }),
  readBack: async (config) => [...(tables.get(config.table)?.values() ?? [])],
  invalidConfigs: [
    { name: 'missing table', config: {}, path: 'table' },
    { name: 'unknown key', config: { table: 'x', bogus: 1 }, path: 'bogus' },
  ],
  transientFailure: {
    inject: () => {
      outage = true;
      return () => {
        outage = false;
      };
    },
  },
  partialFailure: { records: [{ id: 1 }, { name: 'no id' }, { id: 3 }, { other: true }], failed: [3, 1] },
});
