// A plugin whose connectors break the engine's contracts on purpose (engine-contracts.test.ts):
// `fails-after-one-page` yields one page then throws a plain Error; `bad-records` yields values
// that are not plain objects; `sync-read` returns a sync generator from read().
import * as v from 'valibot';
import { defineConnector, definePlugin } from '@sluice/core';

const failsAfterOnePage = defineConnector({
  kind: 'fails-after-one-page',
  version: '1.0.0',
  configSchema: v.object({}),
  create: () => ({
    async *read() {
      yield { records: [{ id: 1 }, { id: 2 }], state: { page: 1 } };
      throw new Error('the source went away after page 1');
    },
  }),
});

const badRecords = defineConnector({
  kind: 'bad-records',
  version: '1.0.0',
  configSchema: v.object({}),
  create: () => ({
    async *read() {
      yield { records: [{ id: 1 }, 'x', 1, null, [1], new Date(0)] };
    },
  }),
});

const syncRead = defineConnector({
  kind: 'sync-read',
  version: '1.0.0',
  configSchema: v.object({}),
  create: () => ({
    *read() {
      yield { records: [{ id: 1 }] };
    },
  }),
});

export default definePlugin({
  name: 'engine-contracts-plugin',
  sluice: '^1',
  connectors: [failsAfterOnePage, badRecords, syncRead],
});
