// Runs the destination contract against small in-memory destinations, proving the suite passes
// correct destinations (its own checks are exercised by every real destination too): one that
// upserts by key, and one that appends, with or without a ledger of written batch ids.
import * as v from 'valibot';
import {
  defineDestination,
  FatalError,
  PartialBatchError,
  RetryableError,
  type SluiceRecord,
} from '@sluice/core';
import { testDestination } from './destination.js';

const tables = new Map<string, Map<string, SluiceRecord>>();
let outage = false;

const memoryDestination = defineDestination({
  kind: 'memory',
  version: '1.0.0',
  configSchema: v.strictObject({
    table: v.pipe(v.string(), v.minLength(1)),
    key: v.optional(v.string(), 'id'),
  }),
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
          if (key === undefined)
            failures.push({ index, error: new FatalError(`field "${config.key}" is missing`) });
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
  partialFailure: {
    records: [{ id: 1 }, { name: 'no id' }, { id: 3 }, { other: true }],
    failed: [3, 1],
  },
});

// Appends every record; with `ledger`, remembers written batch ids outside the instance (as a
// ledger table in the target would), so a repeat — from the same or a new instance — is skipped.
const logs = new Map<string, SluiceRecord[]>();
const ledgers = new Map<string, Set<string>>();
let appendOutage = false;

const appendDestination = defineDestination({
  kind: 'memory-append',
  version: '1.0.0',
  configSchema: v.strictObject({
    log: v.pipe(v.string(), v.minLength(1)),
    ledger: v.optional(v.boolean(), true),
  }),
  capabilities: (config) => ({
    idempotent: config.ledger,
    ...(config.ledger ? { idempotency: 'batch' as const } : {}),
  }),
  create: (config) => ({
    async write(batch) {
      if (appendOutage) throw new RetryableError('memory log is down');
      const written = ledgers.get(config.log) ?? new Set<string>();
      ledgers.set(config.log, written);
      if (config.ledger && written.has(batch.id)) return;
      const log = logs.get(config.log) ?? [];
      logs.set(config.log, log);
      const failures: { index: number; error: Error }[] = [];
      batch.records.forEach((record, index) => {
        if (record.id === undefined)
          failures.push({ index, error: new FatalError('field "id" is missing') });
        else log.push(record);
      });
      written.add(batch.id);
      if (failures.length) throw new PartialBatchError(failures);
    },
  }),
});

for (const ledger of [true, false]) {
  let logCounter = 0;
  testDestination({
    name: `memory-append (${ledger ? 'ledger: idempotency batch' : 'no ledger: at-least-once'})`,
    definition: appendDestination,
    config: () => ({ log: `${ledger ? 'l' : 'n'}${++logCounter}`, ledger }),
    readBack: async (config) => [...(logs.get(config.log) ?? [])],
    invalidConfigs: [{ name: 'missing log', config: {}, path: 'log' }],
    transientFailure: {
      inject: () => {
        appendOutage = true;
        return () => {
          appendOutage = false;
        };
      },
    },
    repeatBatch: { acrossInstances: true },
    partialFailure: { records: [{ id: 1 }, { name: 'no id' }, { id: 3 }], failed: [1] },
  });
}
