import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluginContext, parseConfig } from '@sluice/core';
import {
  expectedCsvCell,
  hostileColumns,
  hostileRecords,
  makeBatch,
  readCsvWithPython,
} from '@sluice/testing';
import { startS3Server, TEST_CREDENTIALS, type TestS3Server } from './__fixtures__/s3-server.js';
import { createS3Destination } from './destination.js';
import { s3ConfigSchema } from './config.js';

const BUCKET = 'sluice-dest-s3-hostile';
let s3: TestS3Server;
let sequence = 0;
beforeAll(async () => {
  s3 = await startS3Server([BUCKET]);
});
afterAll(() => s3.close());

// Objects are stored by s3rver and read back by Debian's Python csv module.
describe('s3 destination: hostile values read back by Python csv', () => {
  for (const { csv, gzip } of [
    { csv: { nullAs: '\\N' }, gzip: false },
    { csv: { delimiter: ';', nullAs: 'NULL', escapeFormulas: true }, gzip: true },
    { csv: { nullAs: '\\N' }, gzip: true },
  ]) {
    it(`${JSON.stringify(csv)}, gzip ${gzip}`, async () => {
      const config = parseConfig(s3ConfigSchema, {
        bucket: BUCKET,
        endpoint: s3.endpoint,
        ssrf: { allow: ['127.0.0.1'] },
        credentials: { ...TEST_CREDENTIALS },
        prefix: `h-${++sequence}/`,
        maxAttempts: 1,
        format: 'csv',
        gzip,
        csv,
      });
      const destination = createS3Destination(config, createPluginContext());
      await destination.write(makeBatch(hostileRecords, { id: 'hostile-1' }), {
        signal: new AbortController().signal,
      });
      await destination.close?.();
      const keys = await s3.list(BUCKET, config.prefix);
      expect(keys).toHaveLength(1);
      // The fixture's read gives the stored object decompressed (gzip objects are .csv.gz).
      expect(keys[0]!.endsWith(gzip ? '.csv.gz' : '.csv')).toBe(true);
      const body = await s3.read(BUCKET, keys[0]!);
      const rows = readCsvWithPython(body, { delimiter: csv.delimiter ?? ',' });
      // Columns in first-seen order, one row per record, values equal, null apart from "".
      expect(rows[0]).toEqual([...hostileColumns]);
      expect(rows).toHaveLength(hostileRecords.length + 1);
      expect(rows.slice(1)).toEqual(
        hostileRecords.map((r) => hostileColumns.map((c) => expectedCsvCell(r[c], csv))),
      );
      expect(rows[1]![hostileColumns.indexOf('empty')]).toBe('');
      expect(rows[1]![hostileColumns.indexOf('nothing')]).toBe(csv.nullAs);
    });
  }
});
