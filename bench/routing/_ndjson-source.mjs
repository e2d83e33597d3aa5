// A bench-local connector plugin for `sluice run` (loaded by path from the generated sluice.yaml):
// reads an NDJSON file in pages of `pageSize` records, with the byte offset of the next line as
// its checkpoint. Sluice ships no file source; the whole-process bench needs the same NDJSON in.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import * as v from 'valibot';
import { defineConnector, definePlugin } from '@sluice/core';

const configSchema = v.strictObject({
  path: v.pipe(v.string(), v.nonEmpty()),
  pageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 10_000),
});

const ndjsonFile = defineConnector({
  kind: 'bench-ndjson-file',
  version: '0.1.0',
  rereads: 'same',
  description: 'Reads the records of an NDJSON file, one per line (bench only).',
  configSchema,
  create: (config) => ({
    async *read(request, signal) {
      const start = typeof request.state?.offset === 'number' ? request.state.offset : 0;
      const lines = createInterface({ input: createReadStream(config.path, { start }) });
      let offset = start;
      let records = [];
      for await (const line of lines) {
        offset += Buffer.byteLength(line) + 1;
        if (line === '') continue;
        records.push(JSON.parse(line));
        if (records.length === config.pageSize) {
          signal.throwIfAborted();
          yield { records, state: { offset } };
          records = [];
        }
      }
      if (records.length > 0) yield { records, state: { offset } };
    },
  }),
});

export default definePlugin({
  name: 'bench-ndjson-source',
  version: '0.1.0',
  sluice: '^1',
  connectors: [ndjsonFile],
});
