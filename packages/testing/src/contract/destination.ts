import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  FatalError,
  PartialBatchError,
  capabilitiesOf,
  createPluginContext,
  parseConfig,
  type Batch,
  type DestinationDefinition,
  type DestinationInstance,
  type PluginContext,
  type SluiceRecord,
} from '@sluice/core';

/** A config that must be refused, and the path its error must name. */
export interface InvalidConfigCase {
  /** Shown in the test name. */
  name: string;
  config: unknown;
  /** A path the `ConfigError` must list (exactly as formatted, e.g. `table` or `columns[0].name`). */
  path: string;
}

/** How to make the destination fail transiently, then recover. */
export interface TransientFailureHooks<TConfig> {
  /** Makes the next write(s) fail; returns a function that restores normal service. */
  inject(config: TConfig): Promise<() => Promise<void> | void> | (() => Promise<void> | void);
}

/**
 * How the repeat-batch check observes and repeats a batch. The check runs for every destination:
 * a repeat (same id, same `recordKeys`, same records) must never lose a record, and when the
 * capabilities declare `idempotency` (`'batch'`, `'record'` or `'content'`) it must leave exactly
 * what one write left.
 */
export interface RepeatBatchOptions<TConfig> {
  /**
   * Also repeat the batch through a second instance, as a take-over in another process does
   * after a crash. Set it when the destination remembers what it wrote outside the process (a
   * ledger table in the target, deterministic object names); default false (the same instance
   * repeats it, as after a lost acknowledgement).
   */
  acrossInstances?: boolean;
  /**
   * What the destination holds, duplicates included, as whoever consumes its output sees it.
   * Give it when `readBack` normalises duplicates away, or when the consumer is the one that
   * de-duplicates (a webhook receiver honouring the idempotency key). Default: `readBack`.
   */
  readBack?: (config: TConfig) => Promise<SluiceRecord[]>;
  /** Records of the repeated batch; the suite's `records` when omitted. */
  records?: SluiceRecord[];
}

/** Options of {@link testDestination}. */
export interface DestinationContractOptions<TConfig> {
  /** Suite name, e.g. `database (postgres)`. */
  name: string;
  definition: DestinationDefinition<TConfig>;
  /** A fresh valid raw config for one test (a new table, folder, ...). */
  config: () => unknown | Promise<unknown>;
  /** Records written by the happy-path test; a default set of 5 is used when omitted. */
  records?: SluiceRecord[];
  /**
   * Reads back what the destination holds for a config, normalised to comparable records.
   * The contract checks that every written record is there.
   */
  readBack: (config: TConfig) => Promise<SluiceRecord[]>;
  /** Compares written and read-back records; defaults to deep equality of sorted JSON. */
  expectSame?: (readBack: SluiceRecord[], written: SluiceRecord[]) => void;
  /** Configs that must be refused with a ConfigError naming the path. At least one. */
  invalidConfigs: InvalidConfigCase[];
  /** How to cause a transient failure; the write must throw a retryable error and a retry must succeed. */
  transientFailure: TransientFailureHooks<TConfig>;
  /** How the repeat-batch check repeats and observes a batch (see {@link RepeatBatchOptions}). */
  repeatBatch?: RepeatBatchOptions<TConfig>;
  /** A batch where exactly `failed` indexes cannot be written (e.g. a missing key column). */
  partialFailure?: { records: SluiceRecord[]; failed: number[] };
  /** A context to create instances with; defaults to {@link createPluginContext}. */
  context?: () => PluginContext;
  /** Per-test timeout in ms (default 30 000). */
  timeout?: number;
}

const defaultRecords: SluiceRecord[] = [
  { id: 1, name: 'alpha', score: 10.5, active: true },
  { id: 2, name: 'beta', score: 0, active: false },
  { id: 3, name: 'gamma, "quoted"', score: -3, active: true },
  { id: 4, name: 'δέλτα ünïcødé', score: 1e6, active: false },
  { id: 5, name: 'line\nbreak', score: 7, active: true },
];

let sequence = 0;

/**
 * Builds a batch the way the router does (deterministic id, attempt number).
 *
 * @example
 * ```ts
 * await destination.write(makeBatch([{ id: 1 }]), { signal });
 * ```
 */
export function makeBatch(records: readonly SluiceRecord[], overrides: Partial<Batch> = {}): Batch {
  sequence += 1;
  return {
    id: `contract-${process.pid}-${sequence}`,
    records,
    pipeline: 'contract',
    runId: 'run-1',
    source: 'contract-source',
    attempt: 1,
    route: 'all',
    ...overrides,
  };
}

function sortByJson(records: SluiceRecord[]): SluiceRecord[] {
  return [...records].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

/**
 * The destination contract: every destination (first- or third-party) runs it, the way
 * unstorage's drivers run `testDriver`. It checks that a destination writes a batch, survives a
 * retry after a transient failure without losing records, absorbs a repeated batch as its
 * capabilities' `idempotency` promises (never losing a record either way), reports partial
 * failures precisely, closes cleanly (twice is harmless), and refuses bad config with a
 * `ConfigError` naming the path.
 *
 * Call it at the top level of a vitest test file.
 *
 * @example
 * ```ts
 * import { testDestination } from '@sluice/testing';
 * testDestination({
 *   name: 'file (ndjson)',
 *   definition: fileDestination,
 *   config: () => ({ root: tmp, path: 'out/{{batch.id}}.ndjson', format: 'ndjson' }),
 *   readBack: async (config) => readNdjsonFiles(config.root),
 *   invalidConfigs: [{ name: 'unknown format', config: { root: tmp, path: 'x', format: 'xml' }, path: 'format' }],
 *   // a file where the output folder should be makes every write fail until it is removed
 *   transientFailure: { inject: (config) => { writeFileSync(join(config.root, 'out'), ''); return () => rmSync(join(config.root, 'out')); } },
 * });
 * ```
 */
export function testDestination<TConfig>(options: DestinationContractOptions<TConfig>): void {
  const timeout = options.timeout ?? 30_000;
  const records = options.records ?? defaultRecords;
  const context = options.context ?? (() => createPluginContext());
  const signal = () => new AbortController().signal;
  const same =
    options.expectSame ??
    ((got: SluiceRecord[], want: SluiceRecord[]) =>
      expect(sortByJson(got)).toEqual(sortByJson(want)));

  async function open(): Promise<{ config: TConfig; instance: DestinationInstance }> {
    const config = parseConfig(options.definition.configSchema, await options.config()) as TConfig;
    const instance = await options.definition.create(config, context());
    await instance.open?.();
    return { config, instance };
  }

  describe(`destination contract: ${options.name}`, () => {
    it('declares its kind, version and capabilities', () => {
      expect(options.definition.type).toBe('destination');
      expect(options.definition.kind).toMatch(/^[a-z]/);
      expect(options.definition.version).toMatch(/^\d+\.\d+\.\d+/);
    });

    it(
      'writes a batch and every record arrives',
      async () => {
        const { config, instance } = await open();
        try {
          const caps = capabilitiesOf(options.definition, config);
          expect(typeof caps.idempotent).toBe('boolean');
          await instance.write(makeBatch(records), { signal: signal() });
          same(await options.readBack(config), records);
        } finally {
          await instance.close?.();
        }
      },
      timeout,
    );

    it(
      'survives a transient failure: the write throws a retryable error and the retry delivers',
      async () => {
        const { config, instance } = await open();
        try {
          const restore = await options.transientFailure.inject(config);
          const batch = makeBatch(records);
          let failure: unknown;
          try {
            await instance.write(batch, { signal: signal() });
          } catch (err) {
            failure = err;
          } finally {
            await restore();
          }
          expect(failure, 'the write during the outage must fail').toBeDefined();
          expect(failure, 'an outage is not fatal').not.toBeInstanceOf(FatalError);
          expect(failure, 'an outage is not a config error').not.toBeInstanceOf(ConfigError);
          if (failure instanceof PartialBatchError) {
            for (const f of failure.failures) expect(f.error).not.toBeInstanceOf(FatalError);
          }
          await instance.write({ ...batch, attempt: 2 }, { signal: signal() });
          const got = await options.readBack(config);
          const caps = capabilitiesOf(options.definition, config);
          if (caps.idempotent) {
            same(got, records);
          } else {
            // Non-idempotent destinations may hold a duplicate of what got through, never less.
            for (const record of records) {
              expect(
                got.map((r) => JSON.stringify(r)),
                'every record after the retry',
              ).toContain(JSON.stringify(record));
            }
          }
        } finally {
          await instance.close?.();
        }
      },
      timeout,
    );

    const repeat = options.repeatBatch ?? {};
    it(
      repeat.acrossInstances
        ? 'absorbs a repeated batch (a retry, then a take-over by a new instance) as its idempotency promises'
        : 'absorbs a repeated batch (a retry of the same id) as its idempotency promises',
      async () => {
        const observe = repeat.readBack ?? options.readBack;
        const repeated = repeat.records ?? records;
        const first = makeBatch(repeated);
        const batch: Batch = { ...first, recordKeys: repeated.map((_, i) => `${first.id}:${i}`) };
        const opened: DestinationInstance[] = [];
        try {
          const { config, instance } = await open();
          opened.push(instance);
          const { idempotency } = capabilitiesOf(options.definition, config);
          if (idempotency !== undefined)
            expect(['batch', 'record', 'content']).toContain(idempotency);
          await instance.write(batch, { signal: signal() });
          const once = sortByJson(await observe(config));
          for (const record of repeated) {
            expect(
              once.map((r) => JSON.stringify(r)),
              'every record after one write',
            ).toContain(JSON.stringify(record));
          }
          const check = async (what: string) => {
            const now = sortByJson(await observe(config));
            if (idempotency !== undefined) {
              expect(
                now,
                `${what} must leave what one write left (idempotency '${idempotency}')`,
              ).toEqual(once);
            } else {
              // At-least-once: a repeat may write again, never lose what the first write left.
              for (const record of once)
                expect(
                  now.map((r) => JSON.stringify(r)),
                  `${what}: nothing lost`,
                ).toContain(JSON.stringify(record));
            }
          };
          // The acknowledgement was lost: the same instance writes the same batch again.
          await instance.write({ ...batch, attempt: 2 }, { signal: signal() });
          await check('a retry of the same batch');
          if (repeat.acrossInstances) {
            // The process died after committing: a new instance re-reads and re-sends the batch.
            const takeOver = await options.definition.create(config, context());
            opened.push(takeOver);
            await takeOver.open?.();
            await takeOver.write(batch, { signal: signal() });
            await check('a take-over writing the same batch');
          }
        } finally {
          for (const instance of opened) await instance.close?.();
        }
      },
      timeout,
    );

    if (options.partialFailure) {
      const partial = options.partialFailure;
      it(
        'reports partial failures by index and writes the rest',
        async () => {
          const { config, instance } = await open();
          try {
            const err = await instance.write(makeBatch(partial.records), { signal: signal() }).then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(err).toBeInstanceOf(PartialBatchError);
            expect((err as PartialBatchError).failed).toEqual(
              [...partial.failed].sort((a, b) => a - b),
            );
            for (const f of (err as PartialBatchError).failures)
              expect(f.error.message.length).toBeGreaterThan(0);
            const good = partial.records.filter((_, i) => !partial.failed.includes(i));
            same(await options.readBack(config), good);
          } finally {
            await instance.close?.();
          }
        },
        timeout,
      );
    }

    it(
      'closes cleanly, and a second close is harmless',
      async () => {
        const { instance } = await open();
        await instance.close?.();
        await expect(Promise.resolve(instance.close?.())).resolves.toBeUndefined();
      },
      timeout,
    );

    it('refuses bad config with a ConfigError naming the path', () => {
      expect(options.invalidConfigs.length, 'give at least one invalid config').toBeGreaterThan(0);
      for (const bad of options.invalidConfigs) {
        let error: unknown;
        try {
          parseConfig(options.definition.configSchema, bad.config);
        } catch (err) {
          error = err;
        }
        expect(error, `${bad.name}: must be refused`).toBeInstanceOf(ConfigError);
        expect(
          (error as ConfigError).issues.map((i) => i.path),
          bad.name,
        ).toContain(bad.path);
      }
    });
  });
}
