import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  FatalError,
  PartialBatchError,
  RetryableError,
  createPluginContext,
  parseConfig,
  type Clock,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { fileDestination } from './destination.js';
import type { FileConfig } from './config.js';
import { listFiles, readRecords, readText } from './__fixtures__/read-files.js';
import { blockOutputFolder } from './__fixtures__/outage.js';

let base: string;
let counter = 0;
const freshRoot = () => join(base, `root-${++counter}`);
const signal = () => new AbortController().signal;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'sluice-dest-file-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('file destination', () => {
  async function open(raw: Record<string, unknown>, clock?: Clock) {
    const config = parseConfig(fileDestination.configSchema, {
      root: freshRoot(),
      ...raw,
    }) as FileConfig;
    const instance = await fileDestination.create(
      config,
      createPluginContext(clock ? { clock } : {}),
    );
    return { config, instance };
  }

  it('renders dates in the configured time zone and context placeholders', async () => {
    const now = Date.UTC(2026, 10, 24, 23, 30);
    const clock: Clock = { now: () => now, sleep: async () => {} };
    const { config, instance } = await open(
      {
        path: '{{pipeline}}/{{route}}/{{runId}}/{{date}}/{{batch.source}}.ndjson',
        timeZone: 'Europe/Berlin',
      },
      clock,
    );
    await instance.write(
      makeBatch([{ a: 1 }], {
        id: 'b/1',
        pipeline: 'daily',
        route: 'r',
        runId: '7f',
        source: 'ga4',
      }),
      { signal: signal() },
    );
    expect(listFiles(config.root).map((f) => f.slice(config.root.length))).toEqual([
      '/daily/r/7f/2026-11-25/ga4.b_1.ndjson',
    ]);
  });

  it('sanitises record values used in paths so they never leave the root', async () => {
    const { config, instance } = await open({ path: 'out/{{who}}.ndjson', mode: 'append' });
    await instance.write(
      makeBatch([{ who: '../../etc/passwd' }, { who: '..' }, { who: 'Zürich 1/2' }]),
      { signal: signal() },
    );
    expect(
      listFiles(config.root)
        .map((f) => f.slice(config.root.length))
        .sort(),
    ).toEqual(['/out/_..ndjson', '/out/_._.._etc_passwd.ndjson', '/out/Zürich_1_2.ndjson'].sort());
  });

  it('names the field of a record whose path cannot be built', async () => {
    const { instance } = await open({ path: 'out/{{geo.country}}.ndjson' });
    const err = await instance
      .write(makeBatch([{ geo: { country: 'de' } }, { geo: {} }, { geo: { country: ['x'] } }]), {
        signal: signal(),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialBatchError);
    const failures = (err as PartialBatchError).failures;
    expect(failures.map((f) => f.index)).toEqual([1, 2]);
    expect(failures[0]!.error).toBeInstanceOf(FatalError);
    expect(failures[0]!.error.message).toMatch(/field "geo.country" is missing/);
    expect(failures[1]!.error.message).toMatch(/field "geo.country" is an array/);
  });

  it('rewrites the same file when a batch is retried in batch mode (idempotent)', async () => {
    const { config, instance } = await open({ path: 'out/data.ndjson' });
    const batch = makeBatch([{ a: 1 }, { a: 2 }]);
    await instance.write(batch, { signal: signal() });
    await instance.write({ ...batch, attempt: 2 }, { signal: signal() });
    expect(listFiles(config.root)).toHaveLength(1);
    expect(readRecords(config.root, 'ndjson')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(fileDestination.capabilities).toBeTypeOf('function');
  });

  it('appends batches, skips a retried batch that already landed, and leaves no temp file', async () => {
    const { config, instance } = await open({
      path: 'out/data.json',
      format: 'json',
      mode: 'append',
    });
    const first = makeBatch([{ a: 1 }]);
    await instance.write(first, { signal: signal() });
    await instance.write(makeBatch([{ a: 2 }, { a: 3 }]), { signal: signal() });
    await instance.write({ ...first, attempt: 2 }, { signal: signal() });
    expect(JSON.parse(readText(join(config.root, 'out/data.json')))).toEqual([
      { a: 1 },
      { a: 2 },
      { a: 3 },
    ]);
    expect(readdirSync(join(config.root, 'out')).sort()).toEqual([
      '.data.json.sluice.json',
      'data.json',
    ]);
  });

  it('writes CSV with header, delimiter, quoting and column order', async () => {
    const { config, instance } = await open({
      path: 'out/data.csv',
      format: 'csv',
      csv: { delimiter: ';', columns: [{ field: 'b', header: 'B col' }, 'a', 'nested'] },
    });
    await instance.write(
      makeBatch([
        { a: 'x;y', b: 1, nested: { k: [1] } },
        { a: 'say "hi"', b: true },
      ]),
      { signal: signal() },
    );
    const [file] = listFiles(config.root);
    expect(readText(file!)).toBe('B col;a;nested\n1;"x;y";"{""k"":[1]}"\ntrue;"say ""hi""";\n');
  });

  it('rotates appended files by size, keeping every record', async () => {
    const { config, instance } = await open({
      path: 'out/log.ndjson',
      mode: 'append',
      rotate: { maxBytes: 40 },
    });
    for (let i = 0; i < 5; i++)
      await instance.write(makeBatch([{ i, pad: 'xxxxxxxx' }]), { signal: signal() });
    const files = listFiles(config.root);
    expect(files.length).toBeGreaterThan(1);
    expect(files.some((f) => f.endsWith('/out/log.ndjson'))).toBe(true);
    expect(files.filter((f) => /log\.\d{8}T\d{9}Z(-\d+)?\.ndjson$/.test(f))).toHaveLength(
      files.length - 1,
    );
    expect(
      readRecords(config.root, 'ndjson')
        .map((r) => r.i)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4]);
  });

  it('rotates appended files by age', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clock: Clock = { now: () => now, sleep: async () => {} };
    const { config, instance } = await open(
      { path: 'out/log.ndjson.gz', mode: 'append', gzip: true, rotate: { maxAgeMs: 60_000 } },
      clock,
    );
    await instance.write(makeBatch([{ i: 1 }]), { signal: signal() });
    now += 30_000;
    await instance.write(makeBatch([{ i: 2 }]), { signal: signal() });
    now += 31_000;
    await instance.write(makeBatch([{ i: 3 }]), { signal: signal() });
    const files = listFiles(config.root)
      .map((f) => f.slice(config.root.length))
      .sort();
    expect(files).toEqual(['/out/log.20260101T000000000Z.ndjson.gz', '/out/log.ndjson.gz'].sort());
    expect(readText(join(config.root, 'out/log.ndjson.gz'))).toBe('{"i":3}\n');
  });

  it('refuses to append to a JSON file it did not write, without touching it', async () => {
    const { config, instance } = await open({ path: 'data.json', format: 'json', mode: 'append' });
    mkdirSync(config.root, { recursive: true });
    writeFileSync(join(config.root, 'data.json'), '[1, 2]');
    const err = await instance
      .write(makeBatch([{ a: 1 }]), { signal: signal() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect(readFileSync(join(config.root, 'data.json'), 'utf8')).toBe('[1, 2]');
  });

  it('throws a retryable error when the folder cannot be written, and check() reports it', async () => {
    const { config, instance } = await open({ path: 'out/x.ndjson' });
    const restore = blockOutputFolder.inject(config);
    const err = await instance
      .write(makeBatch([{ a: 1 }]), { signal: signal() })
      .catch((e: unknown) => e);
    restore();
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/out/);
    expect((await instance.check!()).ok).toBe(true);
    const file = join(config.root, 'blocked');
    writeFileSync(file, '');
    const blocked = await open({ root: file, path: 'x.ndjson' });
    expect((await blocked.instance.check!()).ok).toBe(false);
  });

  it('refuses a static template that escapes the root at create time too', async () => {
    expect(() =>
      parseConfig(fileDestination.configSchema, { root: base, path: 'a/../../b.ndjson' }),
    ).toThrow(ConfigError);
    expect(existsSync(join(base, '..', 'b.ndjson'))).toBe(false);
  });
});
