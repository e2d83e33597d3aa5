import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import type { SluiceRecord } from '@sluice/core';
import { testDestination } from '@sluice/testing';
import { fileDestination } from './destination.js';
import type { FileConfig } from './config.js';
import { readRecords } from './__fixtures__/read-files.js';
import { blockOutputFolder } from './__fixtures__/outage.js';

// Invalid configs are built before any test runs; they are never written to.
const NOWHERE = join(tmpdir(), 'sluice-dest-file-never-written');
const scratch: string[] = [];
afterAll(() => {
  for (const folder of scratch) rmSync(folder, { recursive: true, force: true });
});
/** A root folder that does not exist yet, in a fresh temporary folder. */
function freshRoot(): string {
  const folder = mkdtempSync(join(tmpdir(), 'sluice-dest-file-contract-'));
  scratch.push(folder);
  return join(folder, 'root');
}

// Records 1 (no group) and 3 (group is an object) cannot name their file.
const partialFailure = {
  records: [
    { id: 1, name: 'a', score: 1, active: true, group: 'x' },
    { id: 2, name: 'b', score: 2, active: false },
    { id: 3, name: 'c', score: 3, active: true, group: 'y' },
    { id: 4, name: 'd', score: 4, active: true, group: { nested: true } },
  ] as SluiceRecord[],
  failed: [1, 3],
};

for (const variant of [
  { label: 'ndjson, batch files', format: 'ndjson', extra: { mode: 'batch' }, ext: 'ndjson' },
  {
    label: 'json, append, gzip',
    format: 'json',
    extra: { mode: 'append', gzip: true },
    ext: 'json.gz',
  },
  {
    label: 'csv, append',
    format: 'csv',
    extra: { mode: 'append', csv: { columns: ['id', 'name', 'score', 'active'] } },
    ext: 'csv',
  },
] as const) {
  testDestination<FileConfig>({
    name: `file (${variant.label})`,
    definition: fileDestination,
    config: () => ({
      root: freshRoot(),
      path: `out/{{date}}/data.${variant.ext}`,
      format: variant.format,
      ...variant.extra,
    }),
    readBack: async (config) => readRecords(config.root, variant.format),
    expectSame:
      variant.format === 'csv'
        ? (got, want) =>
            expect(got).toEqual(
              want.map((r) => ({ id: r.id, name: r.name, score: r.score, active: r.active })),
            )
        : undefined,
    invalidConfigs: [
      {
        name: 'unknown format',
        config: { root: NOWHERE, path: 'x', format: 'xml' },
        path: 'format',
      },
      {
        name: 'template leaves the root',
        config: { root: NOWHERE, path: '../{{date}}.ndjson' },
        path: 'path',
      },
      { name: 'absolute template', config: { root: NOWHERE, path: '/etc/{{date}}' }, path: 'path' },
      {
        name: 'unknown placeholder syntax',
        config: { root: NOWHERE, path: 'out/{{ a b }}.ndjson' },
        path: 'path',
      },
      {
        name: 'bad time zone',
        config: { root: NOWHERE, path: 'x.ndjson', timeZone: 'Mars/Olympus' },
        path: 'timeZone',
      },
      {
        name: 'rotation in batch mode',
        config: { root: NOWHERE, path: 'x.ndjson', rotate: { maxBytes: 10 } },
        path: 'rotate',
      },
      {
        name: 'csv append without columns',
        config: { root: NOWHERE, path: 'x.csv', format: 'csv', mode: 'append' },
        path: 'csv.columns',
      },
      {
        name: 'two-character delimiter',
        config: { root: NOWHERE, path: 'x.csv', format: 'csv', csv: { delimiter: ';;' } },
        path: 'csv.delimiter',
      },
    ],
    transientFailure: blockOutputFolder,
  });
}

testDestination<FileConfig>({
  name: 'file (ndjson, path from a record field)',
  definition: fileDestination,
  config: () => ({ root: freshRoot(), path: 'out/{{group}}/{{batch.id}}.ndjson' }),
  readBack: async (config) => readRecords(config.root, 'ndjson'),
  records: [
    { id: 1, group: 'x' },
    { id: 2, group: 'y' },
  ],
  invalidConfigs: [{ name: 'empty path', config: { root: NOWHERE, path: '' }, path: 'path' }],
  transientFailure: blockOutputFolder,
  partialFailure,
});
