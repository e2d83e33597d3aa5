// Run by connector-shapes.test.ts in a child vitest: the connector contract against a connector
// whose read() is a sync generator. The suite must fail, with the engine's message.
import * as v from 'valibot';
import { defineConnector } from '@sluice/core';
import { testConnector } from '../connector.js';

const syncConnector = defineConnector({
  kind: 'sync-source',
  version: '1.0.0',
  configSchema: v.object({}),
  create: () =>
    ({
      // Deliberately not async: the engine refuses this shape, so the suite must too.
      *read() {
        yield { records: [{ id: 1 }], state: 1 };
      },
    }) as never,
});

testConnector({
  name: 'sync-source',
  definition: syncConnector,
  config: () => ({}),
  key: (r) => String(r.id),
  expectedCount: 1,
});
