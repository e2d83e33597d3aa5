import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPluginContext, parseConfig } from '@sluice/core';
import {
  expectedCsvCell,
  hostileColumns,
  hostileRecords,
  makeBatch,
  readCsvWithPython,
} from '@sluice/testing';
import { fileDestination } from './destination.js';
import type { FileConfig } from './config.js';
import { listFiles } from './__fixtures__/read-files.js';

let base: string;
let counter = 0;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'sluice-dest-file-hostile-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

// The file is read back by Debian's Python csv module, a reader nobody here wrote.
describe('file destination: hostile values read back by Python csv', () => {
  for (const csv of [
    { nullAs: '\\N' },
    { delimiter: ';', nullAs: 'NULL', escapeFormulas: true },
    { delimiter: '\t', quoteAll: true, nullAs: '\\N' },
  ]) {
    for (const mode of ['batch', 'append'] as const) {
      it(`${mode} mode, ${JSON.stringify(csv)}`, async () => {
        const config = parseConfig(fileDestination.configSchema, {
          root: join(base, `root-${++counter}`),
          path: 'out/hostile.csv',
          format: 'csv',
          mode,
          csv: { ...csv, columns: [...hostileColumns] },
        }) as FileConfig;
        const instance = await fileDestination.create(config, createPluginContext());
        await instance.open?.();
        // Two batches: in append mode the second is appended to the first file.
        await instance.write(makeBatch(hostileRecords.slice(0, 4), { id: 'h-1' }), {
          signal: new AbortController().signal,
        });
        await instance.write(makeBatch(hostileRecords.slice(4), { id: 'h-2' }), {
          signal: new AbortController().signal,
        });
        await instance.close?.();
        const files = listFiles(config.root)
          .filter((f) => f.endsWith('.csv'))
          .sort();
        const rows = files.flatMap((f, i) => {
          const read = readCsvWithPython(readFileSync(f), { delimiter: csv.delimiter ?? ',' });
          expect(read[0]).toEqual([...hostileColumns]);
          return i === 0 || mode === 'batch' ? read.slice(1) : read;
        });
        expect(files).toHaveLength(mode === 'append' ? 1 : 2);
        expect(rows).toHaveLength(hostileRecords.length);
        expect(rows).toEqual(
          hostileRecords.map((r) => hostileColumns.map((c) => expectedCsvCell(r[c], csv))),
        );
        // null and "" stay apart.
        expect(rows[0]![hostileColumns.indexOf('empty')]).toBe('');
        expect(rows[0]![hostileColumns.indexOf('nothing')]).toBe(csv.nullAs);
      });
    }
  }
});
