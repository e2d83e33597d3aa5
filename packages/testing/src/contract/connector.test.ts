// Runs the connector contract against a small in-memory paginated connector.
import * as v from 'valibot';
import { defineConnector, FatalError, RetryableError, type SluiceRecord } from '@sluice/core';
import { testConnector } from './connector.js';

let rows: SluiceRecord[] = Array.from({ length: 250 }, (_, i) => ({ id: i + 1, updatedAt: i + 1 }));
let failure: 'none' | 'throttle' | 'auth' = 'none';

const memoryConnector = defineConnector({
  kind: 'memory-source',
  version: '1.0.0',
  configSchema: v.strictObject({
    pageSize: v.optional(v.number(), 40),
    token: v.optional(v.string(), 'good'),
  }),
  create: (config) => ({
    async *read(request, signal) {
      let cursor = typeof request.state === 'number' ? request.state : 0;
      for (;;) {
        signal.throwIfAborted();
        if (failure === 'throttle')
          throw new RetryableError('429 from source', { retryAfterMs: 100 });
        if (failure === 'auth') throw new FatalError('401 from source');
        const page = rows
          .filter((r) => (r.updatedAt as number) > cursor)
          .sort((a, b) => (a.updatedAt as number) - (b.updatedAt as number))
          .slice(0, config.pageSize);
        if (page.length === 0) return;
        cursor = page[page.length - 1]!.updatedAt as number;
        yield { records: page, state: cursor };
        await new Promise((r) => setTimeout(r, 1));
      }
    },
    async check() {
      return config.token === 'good'
        ? { ok: true, message: 'token accepted' }
        : { ok: false, message: 'the token was rejected (401): create a new one in the settings' };
    },
    async discover() {
      return [
        {
          name: 'rows',
          fields: [
            { name: 'id', type: 'number' },
            { name: 'updatedAt', type: 'number' },
          ],
        },
      ];
    },
  }),
});

testConnector({
  name: 'memory-source',
  definition: memoryConnector,
  config: () => ({}),
  key: (r) => String(r.id),
  expectedCount: 250,
  incremental: {
    async mutate() {
      rows = rows.map((r) =>
        r.id === 7 || r.id === 99 ? { ...r, updatedAt: 1000 + (r.id as number) } : r,
      );
      rows.push({ id: 251, updatedAt: 2000 });
      return ['7', '99', '251'];
    },
  },
  errors: [
    {
      name: 'throttled',
      expected: 'retryable',
      inject: () => ((failure = 'throttle'), () => void (failure = 'none')),
    },
    {
      name: 'unauthorised',
      expected: 'fatal',
      inject: () => ((failure = 'auth'), () => void (failure = 'none')),
    },
  ],
  badCredentials: () => ({ token: 'bad' }),
});
