import { describe, expect, it } from 'vitest';
import {
  FatalError,
  RetryableError,
  connectorPages,
  createPluginContext,
  isRecord,
  parseConfig,
  type ConnectorDefinition,
  type ConnectorInstance,
  type JsonValue,
  type Page,
  type PluginContext,
  type ReadRequest,
  type SluiceRecord,
} from '@sluice/core';

/** A failure to inject into the source and the error class the connector must map it to. */
export interface ConnectorErrorCase {
  name: string;
  /** Makes the source fail; returns a function restoring it. */
  inject(): Promise<() => Promise<void> | void> | (() => Promise<void> | void);
  expected: 'retryable' | 'fatal';
}

/** Options of {@link testConnector}. */
export interface ConnectorContractOptions<TConfig> {
  name: string;
  definition: ConnectorDefinition<TConfig>;
  /** A valid raw config. */
  config: () => unknown | Promise<unknown>;
  /** Request for a full read (default `{}`). */
  request?: ReadRequest;
  /** Identity of a record, used to check that no record is lost across checkpoints. */
  key: (record: SluiceRecord) => string;
  /** How many records a full read returns (must span at least two pages). */
  expectedCount: number;
  /**
   * Incremental reads: after the full read, `mutate` changes the source (adds/updates rows);
   * reading from the last checkpoint must then return every changed key.
   */
  incremental?: { mutate(): Promise<string[]> };
  /** Injected source failures and how they must be classified. */
  errors?: ConnectorErrorCase[];
  /** A config whose `check()` must fail with an actionable message. */
  badCredentials?: () => unknown | Promise<unknown>;
  context?: () => PluginContext;
  timeout?: number;
}

async function readAll(
  instance: ConnectorInstance,
  request: ReadRequest,
  signal: AbortSignal = new AbortController().signal,
): Promise<Page[]> {
  const pages: Page[] = [];
  // The engine's own check (runPipeline): async iterables only, so suite and engine agree.
  for await (const page of connectorPages(instance.read(request, signal))) pages.push(page);
  return pages;
}

/**
 * The connector contract: paging, checkpoints, abort, error mapping, `check()` and
 * `discover()`. Every connector runs it against its (fake or real) source.
 *
 * @example
 * ```ts
 * testConnector({
 *   name: 'http-json',
 *   definition: httpJsonConnector,
 *   config: () => ({ url: `${server.url}/items`, pageSize: 50 }),
 *   key: (r) => String(r.id),
 *   expectedCount: 120,
 * });
 * ```
 */
export function testConnector<TConfig>(options: ConnectorContractOptions<TConfig>): void {
  const timeout = options.timeout ?? 60_000;
  const context = options.context ?? (() => createPluginContext());
  const request = options.request ?? {};

  async function create(raw?: unknown): Promise<ConnectorInstance> {
    const config = parseConfig(
      options.definition.configSchema,
      raw ?? (await options.config()),
    ) as TConfig;
    return options.definition.create(config, context());
  }

  describe(`connector contract: ${options.name}`, () => {
    it(
      'reads every record in pages of plain JSON records',
      async () => {
        const instance = await create();
        try {
          const pages = await readAll(instance, request);
          expect(pages.length, 'the data set must span several pages').toBeGreaterThan(1);
          const records = pages.flatMap((p) => p.records);
          expect(records.length).toBe(options.expectedCount);
          for (const record of records.slice(0, 1000)) {
            expect(isRecord(record)).toBe(true);
            expect(JSON.parse(JSON.stringify(record))).toEqual(record);
          }
          expect(new Set(records.map(options.key)).size).toBe(options.expectedCount);
        } finally {
          await instance.close?.();
        }
      },
      timeout,
    );

    it(
      'resuming from any checkpoint loses no record',
      async () => {
        const instance = await create();
        try {
          const pages = await readAll(instance, request);
          const all = new Set(pages.flatMap((p) => p.records).map(options.key));
          const checkpoints = pages
            .map((p, i) => ({ i, state: p.state }))
            .filter((c) => c.state !== undefined);
          expect(checkpoints.length, 'pages must carry state checkpoints').toBeGreaterThan(0);
          // Resume from a checkpoint in the middle: what came before it plus what the resumed read
          // returns must cover everything.
          const middle = checkpoints[Math.floor((checkpoints.length - 1) / 2)]!;
          const before = pages
            .slice(0, middle.i + 1)
            .flatMap((p) => p.records)
            .map(options.key);
          const resumed = (
            await readAll(instance, { ...request, state: middle.state as JsonValue })
          )
            .flatMap((p) => p.records)
            .map(options.key);
          const covered = new Set([...before, ...resumed]);
          for (const key of all)
            expect(covered.has(key), `record ${key} lost after resume`).toBe(true);
        } finally {
          await instance.close?.();
        }
      },
      timeout,
    );

    if (options.definition.rereads === 'same') {
      it(
        "declares rereads: 'same', so a re-read from a checkpoint yields the same records in the same order",
        async () => {
          // A take-over re-reads from the last committed checkpoint; destinations keyed by record
          // keys / batch ids skip what they already have, which is right only if it is the same.
          const instance = await create();
          try {
            const pages = await readAll(instance, request);
            const checkpoints = pages
              .map((p, i) => ({ i, state: p.state }))
              .filter((c) => c.state !== undefined);
            expect(checkpoints.length, 'pages must carry state checkpoints').toBeGreaterThan(0);
            const middle = checkpoints[Math.floor((checkpoints.length - 1) / 2)]!;
            const expected = pages
              .slice(middle.i + 1)
              .map((p) => ({ records: p.records, state: p.state }));
            const again = await readAll(instance, { ...request, state: middle.state as JsonValue });
            expect(again.map((p) => ({ records: p.records, state: p.state }))).toEqual(expected);
          } finally {
            await instance.close?.();
          }
        },
        timeout,
      );
    }

    if (options.incremental) {
      const incremental = options.incremental;
      it(
        'an incremental read from the last checkpoint returns every changed record',
        async () => {
          const instance = await create();
          try {
            const pages = await readAll(instance, request);
            const last = [...pages].reverse().find((p) => p.state !== undefined);
            expect(last, 'a checkpoint after the full read').toBeDefined();
            const changed = await incremental.mutate();
            const next = (await readAll(instance, { ...request, state: last!.state as JsonValue }))
              .flatMap((p) => p.records)
              .map(options.key);
            for (const key of changed) expect(next, `changed record ${key}`).toContain(key);
            expect(next.length, 'an incremental read must not re-read everything').toBeLessThan(
              options.expectedCount + changed.length,
            );
          } finally {
            await instance.close?.();
          }
        },
        timeout,
      );
    }

    it(
      'stops promptly when the signal aborts',
      async () => {
        const instance = await create();
        const controller = new AbortController();
        let pagesAfterAbort = 0;
        let aborted = false;
        const started = Date.now();
        try {
          for await (const _page of connectorPages(instance.read(request, controller.signal))) {
            if (aborted) pagesAfterAbort += 1;
            if (!aborted) {
              aborted = true;
              controller.abort(new Error('contract abort'));
            }
          }
        } catch (err) {
          // Throwing the abort reason (or an AbortError) is the expected way to stop; failing
          // before the first page is a different problem, reported as such.
          if (!aborted)
            throw new Error(`read() failed before its first page: ${(err as Error).message}`, {
              cause: err,
            });
          expect(err).toBeInstanceOf(Error);
        } finally {
          await instance.close?.();
        }
        expect(aborted).toBe(true);
        expect(pagesAfterAbort, 'no page may be produced after the abort').toBe(0);
        expect(Date.now() - started).toBeLessThan(timeout);
      },
      timeout,
    );

    for (const errorCase of options.errors ?? []) {
      it(
        `maps "${errorCase.name}" to a ${errorCase.expected} error`,
        async () => {
          const instance = await create();
          const restore = await errorCase.inject();
          let error: unknown;
          try {
            await readAll(instance, request);
          } catch (err) {
            error = err;
          } finally {
            await restore();
            await instance.close?.();
          }
          expect(error, 'the read must fail').toBeDefined();
          expect(error).toBeInstanceOf(
            errorCase.expected === 'retryable' ? RetryableError : FatalError,
          );
          expect((error as Error).message.length).toBeGreaterThan(0);
        },
        timeout,
      );
    }

    it(
      'check() succeeds with valid credentials and discover() lists fields',
      async () => {
        const instance = await create();
        try {
          if (instance.check) {
            const result = await instance.check();
            expect(result.ok, result.message).toBe(true);
          }
          if (instance.discover) {
            const streams = await instance.discover();
            expect(streams.length).toBeGreaterThan(0);
            for (const stream of streams) {
              expect(stream.name.length).toBeGreaterThan(0);
              expect(stream.fields.length).toBeGreaterThan(0);
            }
          }
          expect(
            instance.check ?? instance.discover,
            'implement check() or discover()',
          ).toBeDefined();
        } finally {
          await instance.close?.();
        }
      },
      timeout,
    );

    if (options.badCredentials) {
      const bad = options.badCredentials;
      it(
        'check() fails fast with an actionable message on bad credentials',
        async () => {
          const instance = await create(await bad());
          try {
            expect(instance.check, 'check() is required to detect bad credentials').toBeDefined();
            const result = await instance.check!();
            expect(result.ok).toBe(false);
            expect(result.message.length).toBeGreaterThan(10);
          } finally {
            await instance.close?.();
          }
        },
        timeout,
      );
    }
  });
}
