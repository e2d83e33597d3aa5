import {
  pipelineSourceOptions,
  destinationOptions,
  type PipelineConfig,
  type SluiceConfig,
} from '@sluice/config';
import {
  FatalError,
  childLogger,
  type ConnectorInstance,
  type JsonValue,
  type Logger,
  type PluginContext,
  type PluginRegistry,
  type PluginStateStore,
  type RouteSpec,
  type RunBreakdown,
  type RunCounts,
  type RunRecord,
  type SluiceRecord,
  type SluiceStore,
  type StoredDeadLetter,
} from '@sluice/core';
import {
  compileRouteTable,
  createRouter,
  runPipeline,
  summaryOfFailure,
  type RouterDestination,
  type RouterSummary,
  type RouteTable,
} from '@sluice/router';
import {
  inboxDrainParams,
  withRunCounts,
  type ExecuteRun,
  type RunSummary,
} from '@sluice/scheduler';
import type { ConfigState } from './config-state.js';
import type { DestinationPool } from './destination-pool.js';
import { createInboxDrain, INBOX_STREAM } from './inbox-drain.js';

/** What the executor needs from the running server. */
export interface ExecutorDeps {
  state: ConfigState;
  registry: PluginRegistry;
  store: SluiceStore;
  pool: DestinationPool;
  /** Server-wide context (logger, metrics, clock); each run gets its own signal. */
  ctx: PluginContext;
  /** Durable state of a plugin instance by namespace; connectors get `connector:<kind>:<pipeline>`. */
  pluginState?: (namespace: string) => PluginStateStore;
  /** Called about once a second while a run routes records (the CLI prints progress from it). */
  onProgress?: (run: RunRecord, summary: RouterSummary) => void;
}

/** Route specs and default route of a pipeline, in router terms. */
export function pipelineRoutes(config: SluiceConfig, pipeline: string) {
  return routesOf(config.pipelines[pipeline]!);
}

function routesOf(pipeline: Pick<PipelineConfig, 'routes' | 'defaultRoute'>) {
  return { routes: pipeline.routes as RouteSpec[], defaultRoute: pipeline.defaultRoute };
}

/** Names of the destinations a pipeline's routes use. */
export function pipelineDestinations(config: SluiceConfig, pipeline: string): string[] {
  return destinationsOf(config.pipelines[pipeline]!);
}

function destinationsOf(pipeline: Pick<PipelineConfig, 'routes' | 'defaultRoute'>): string[] {
  const { routes, defaultRoute } = routesOf(pipeline);
  return [...new Set([...routes.flatMap((r) => r.to), ...(defaultRoute?.to ?? [])])];
}

/**
 * Compiles a pipeline's route table, with its destinations' own `expect` lists, restricted to
 * `only` destinations when given (replays).
 */
export function compilePipelineTable(
  config: SluiceConfig,
  pipeline: string,
  registry: PluginRegistry,
  ctx: PluginContext,
  only?: ReadonlySet<string>,
): RouteTable {
  return compileRoutesOf(
    config.pipelines[pipeline]!,
    pipeline,
    registry,
    ctx,
    only,
    config.destinations,
  );
}

/**
 * Compiles the route table of one pipeline section (`transform`, `routes`, `defaultRoute`), with error paths
 * under `pipelines.<name>`: what runs use, and what validation compiles. `destinations` (the
 * configuration's sections) adds each destination's `expect` list to the table.
 */
export function compileRoutesOf(
  pipeline: Pick<PipelineConfig, 'routes' | 'defaultRoute' | 'transform'>,
  name: string,
  registry: PluginRegistry,
  ctx: PluginContext,
  only?: ReadonlySet<string>,
  destinations?: SluiceConfig['destinations'],
): RouteTable {
  const { routes, defaultRoute } = routesOf(pipeline);
  const keep = (to: string[]) => (only ? to.filter((d) => only.has(d)) : to);
  const restricted = routes.map((r) => ({ ...r, to: keep(r.to) })).filter((r) => r.to.length > 0);
  const defaultTo = defaultRoute ? keep(defaultRoute.to) : [];
  return compileRouteTable(restricted, {
    registry,
    ctx,
    ...(defaultRoute && defaultTo.length > 0
      ? { defaultRoute: { ...defaultRoute, to: defaultTo } }
      : {}),
    destinations: only ? [...only] : destinationsOf(pipeline),
    path: ['pipelines', name],
    ...(pipeline.transform ? { transform: pipeline.transform } : {}),
    ...(destinations
      ? {
          destinationExpectations: Object.fromEntries(
            Object.entries(destinations).map(([d, section]) => [d, section.expect]),
          ),
        }
      : {}),
  });
}

/** A connector over records already in hand (webhook payloads, replays). */
function recordsSource(records: readonly SluiceRecord[]): ConnectorInstance {
  return {
    async *read(_request, signal) {
      for (let i = 0; i < records.length; i += 500) {
        signal.throwIfAborted();
        yield { records: records.slice(i, i + 500) };
      }
    },
  };
}

function isRecordArray(value: JsonValue | undefined): value is SluiceRecord[] {
  return (
    Array.isArray(value) &&
    value.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))
  );
}

function toSummary(summary: RouterSummary): { counts: RunCounts; breakdown: RunBreakdown } {
  const perDestination = Object.values(summary.destinations);
  return {
    counts: {
      read: summary.records.in,
      // Deliveries are counted per destination: a record sent to two destinations counts twice.
      delivered: perDestination.reduce((n, d) => n + d.delivered, 0),
      deadLettered: summary.deadLettered,
      dropped: summary.dropped,
      failed: perDestination.reduce((n, d) => n + d.failed, 0),
    },
    breakdown: toBreakdown(summary),
  };
}

/**
 * The run record's breakdown: each route's, destination's and expectation's counts, copied field
 * by field so nothing but names and numbers (no record, no error text) reaches the store.
 */
function toBreakdown(summary: RouterSummary): RunBreakdown {
  const routes: RunBreakdown['routes'] = {};
  for (const [name, r] of Object.entries(summary.routes))
    routes[name] = {
      matched: r.matched,
      produced: r.produced,
      droppedByTransform: r.droppedByTransform,
      failed: r.failed,
    };
  const destinations: RunBreakdown['destinations'] = {};
  for (const [name, d] of Object.entries(summary.destinations))
    destinations[name] = {
      delivered: d.delivered,
      failed: d.failed,
      deadLettered: d.deadLettered,
      dropped: d.dropped,
      batches: d.batches,
      retries: d.retries,
    };
  return {
    routes,
    destinations,
    ...(summary.expectations === undefined
      ? {}
      : { expectations: expectationCounts(summary.expectations) }),
    ...(summary.destinationExpectations === undefined
      ? {}
      : { destinationExpectations: expectationCounts(summary.destinationExpectations) }),
  };
}

/** A route's or destination's expectation counts, by owner then expectation name, field by field. */
function expectationCounts(
  byOwner: NonNullable<RouterSummary['expectations']>,
): NonNullable<RunBreakdown['expectations']> {
  const out: NonNullable<RunBreakdown['expectations']> = {};
  for (const [owner, byName] of Object.entries(byOwner)) {
    out[owner] = {};
    for (const [name, e] of Object.entries(byName))
      out[owner][name] = {
        check: e.check,
        action: e.action,
        ...(e.field === undefined ? {} : { field: e.field }),
        checked: e.checked,
        violations: e.violations,
      };
  }
  return out;
}

/**
 * Adds `more`'s counts into `into`: a replay makes one pass per destination, and its run shows
 * their sums (a route in two passes counts both; the numeric fields add, the others are kept).
 */
function addBreakdown(into: RunBreakdown, more: RunBreakdown): void {
  const add = <T extends object>(target: Record<string, T>, source: Record<string, T>) => {
    for (const [name, counts] of Object.entries(source)) {
      const sum = target[name];
      if (sum === undefined) {
        target[name] = { ...counts };
        continue;
      }
      for (const [key, value] of Object.entries(counts)) {
        const field = key as keyof T;
        if (typeof value === 'number') (sum[field] as number) += value;
      }
    }
  };
  add(into.routes, more.routes);
  add(into.destinations, more.destinations);
  for (const [route, byName] of Object.entries(more.expectations ?? {}))
    add(((into.expectations ??= {})[route] ??= {}), byName);
  for (const [destination, byName] of Object.entries(more.destinationExpectations ?? {}))
    add(((into.destinationExpectations ??= {})[destination] ??= {}), byName);
}

/**
 * Builds the scheduler's `execute` function: for one run, it takes the pipeline version the run
 * was queued with, creates the connector and the route table, borrows pooled destination
 * instances, and pumps pages through the router with `runPipeline`, which commits each page's
 * checkpoint only after every destination acknowledged it. Webhook runs with a `records`
 * payload route those records; replay runs re-route dead letters through the current routes,
 * to the destination that failed only.
 *
 * @example
 * ```ts
 * const scheduler = createScheduler({ ..., execute: createExecutor({ state, registry, store, pool, ctx }) });
 * ```
 */
export function createExecutor(deps: ExecutorDeps): ExecuteRun {
  return async (run, { signal, log }) => {
    const config = await configForRun(deps, run);
    if (!config.pipelines[run.pipeline])
      throw new FatalError(`pipeline "${run.pipeline}" does not exist`);
    // `log` binds runId, pipeline and runAttempt; the router adds `component: 'router'` itself.
    const ctx: PluginContext = { ...deps.ctx, signal, logger: log };
    const own = childLogger(log, { component: 'executor' });

    if (run.trigger === 'replay') return replay(deps, config, run, ctx, own);

    const records = run.params?.records;
    // A drain run of the pipeline's webhook inbox (`webhook.delivery: inbox`, see inbox-drain.ts).
    const drainParams = inboxDrainParams(run.params);
    if (drainParams && !deps.store.webhookInbox)
      throw new FatalError('this store has no webhook inbox to drain');
    const drain =
      drainParams &&
      createInboxDrain({
        inbox: deps.store.webhookInbox!,
        checkpoints: deps.store.checkpoints,
        pipeline: run.pipeline,
        params: drainParams,
      });
    let connector: ConnectorInstance;
    let source: string;
    // Records in hand (a payload) are the same on every attempt; a connector says whether its re-reads are.
    let rereads: 'same' | 'may-differ' = 'same';
    if (drain) {
      connector = drain.connector;
      source = INBOX_STREAM;
    } else if (records !== undefined) {
      if (!isRecordArray(records))
        throw new FatalError('params.records must be an array of JSON objects');
      connector = recordsSource(records);
      source = `${run.trigger}-payload`;
    } else {
      const { kind, options } = pipelineSourceOptions(config, run.pipeline);
      const state = deps.pluginState?.(`connector:${kind}:${run.pipeline}`);
      const connectorCtx: PluginContext = {
        ...ctx,
        logger: childLogger(log, { component: 'connector' }),
        ...(state ? { state } : {}),
      };
      connector = await deps.registry.createConnector(kind, options, connectorCtx, [
        'pipelines',
        run.pipeline,
        'source',
      ]);
      source = kind;
      rereads = deps.registry.get('connector', kind)?.rereads ?? 'may-differ';
    }
    const table = compilePipelineTable(config, run.pipeline, deps.registry, ctx);
    const destinations = await routerDestinations(deps, config, table.destinations);
    // A retried or taken-over run resumes from its checkpoint and re-reads what came after it:
    // its records get the same keys, and its batches the same ids, as in the attempt before
    // (source positions, see Router.atCheckpoint), so destinations keyed by them absorb the repeat.
    const router = createRouter({
      table,
      destinations,
      deadLetters: deps.store.deadLetters,
      ctx,
      pipeline: run.pipeline,
      runId: run.id,
      source,
      rereads,
      runAttempt: run.attempt,
    });
    const useCheckpoints = records === undefined;
    const state = drain
      ? await deps.store.checkpoints.get(run.pipeline, INBOX_STREAM)
      : useCheckpoints
        ? await deps.store.checkpoints.get(run.pipeline)
        : undefined;
    const params = { ...(run.params ?? {}) };
    delete params.records;
    const progress = deps.onProgress
      ? setInterval(() => deps.onProgress!(run, router.summary()), 1000)
      : undefined;
    try {
      const summary = await runPipeline({
        connector,
        request: { ...(state === undefined ? {} : { state }), params },
        router,
        checkpoints: drain
          ? drain.checkpoints
          : useCheckpoints
            ? deps.store.checkpoints
            : { get: async () => undefined, commit: async () => {} },
        ...(drain ? { stream: INBOX_STREAM } : {}),
        pipeline: run.pipeline,
        source,
        signal,
      });
      // Debug: the scheduler's "run succeeded" line carries the same counts.
      own.debug(
        { summary: summary.records, deadLettered: summary.deadLettered, dropped: summary.dropped },
        'run finished',
      );
      deps.onProgress?.(run, summary);
      return toSummary(summary);
    } catch (error) {
      // A run that fails midway keeps the counts of what it read and delivered before.
      const summary = summaryOfFailure(error);
      if (!summary) throw error;
      const { counts, breakdown } = toSummary(summary);
      throw withRunCounts(error, counts, breakdown);
    } finally {
      clearInterval(progress);
      await connector.close?.();
    }
  };
}

async function configForRun(deps: ExecutorDeps, run: RunRecord): Promise<SluiceConfig> {
  const current = deps.state.current;
  const latest = current.pipelineVersions[run.pipeline];
  if (
    run.pipelineVersion === null ||
    run.pipelineVersion === undefined ||
    run.pipelineVersion === latest
  )
    return current.config;
  // The run was queued with an older version: run exactly that version of the pipeline.
  const version = await deps.store.pipelines.getVersion(run.pipeline, run.pipelineVersion);
  if (!version) return current.config;
  const pipelines = {
    ...(current.raw.pipelines as Record<string, unknown>),
    [run.pipeline]: version.config,
  };
  return deps.state.validate({ ...current.raw, pipelines });
}

async function routerDestinations(
  deps: ExecutorDeps,
  config: SluiceConfig,
  names: readonly string[],
): Promise<Record<string, RouterDestination>> {
  const out: Record<string, RouterDestination> = {};
  for (const name of names) {
    const { kind, options, delivery } = destinationOptions(config, name);
    out[name] = await deps.pool.get(name, kind, options, delivery);
  }
  return out;
}

async function replay(
  deps: ExecutorDeps,
  config: SluiceConfig,
  run: RunRecord,
  ctx: PluginContext,
  log: Logger,
): Promise<RunSummary> {
  const ids = run.params?.deadLetterIds;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
    throw new FatalError('a replay run needs params.deadLetterIds (an array of dead-letter ids)');
  }
  const letters: StoredDeadLetter[] = [];
  for (const id of ids as string[]) {
    const letter = await deps.store.deadLetters.get(id);
    if (letter && letter.status === 'pending' && letter.pipeline === run.pipeline)
      letters.push(letter);
  }
  // One pass per failed destination, so destinations that already have the record do not get it again.
  const byDestination = new Map<string, StoredDeadLetter[]>();
  for (const letter of letters)
    byDestination.set(letter.destination, [
      ...(byDestination.get(letter.destination) ?? []),
      letter,
    ]);
  const total = { read: 0, delivered: 0, deadLettered: 0, dropped: 0, failed: 0 };
  const breakdown: RunBreakdown = { routes: {}, destinations: {} };
  for (const [destination, group] of byDestination) {
    if (!pipelineDestinations(config, run.pipeline).includes(destination)) {
      log.warn(
        { destination, letters: group.length },
        'the current routes no longer send to this destination; letters left pending',
      );
      continue;
    }
    // Several letters of one record (one per route) are replayed once, at the position it had.
    const unique = new Map<string, { record: SluiceRecord; position: string | undefined }>();
    for (const letter of group) {
      const record = letter.original ?? letter.record;
      const key = letter.position ?? JSON.stringify(record);
      if (!unique.has(key)) unique.set(key, { record, position: letter.position });
    }
    // In source order per segment (letters come newest first), so the router cuts the replayed
    // records into the batches they first travelled in, with the same batch ids.
    const replayed = [...unique.values()].sort((a, b) => comparePositions(a.position, b.position));
    const table = compilePipelineTable(
      config,
      run.pipeline,
      deps.registry,
      ctx,
      new Set([destination]),
    );
    const router = createRouter({
      table,
      destinations: await routerDestinations(deps, config, [destination]),
      deadLetters: deps.store.deadLetters,
      ctx,
      pipeline: run.pipeline,
      runId: run.id,
      source: 'replay',
      positions: replayed.map((u) => u.position),
    });
    const summary = await runPipeline({
      connector: recordsSource(replayed.map((u) => u.record)),
      request: {},
      router,
      checkpoints: { get: async () => undefined, commit: async () => {} },
      pipeline: run.pipeline,
      signal: ctx.signal,
    });
    // Records that failed again were dead-lettered anew by the router; the old letters are done.
    await deps.store.deadLetters.markReplayed(
      group.map((l) => l.id),
      run.id,
    );
    const { counts, breakdown: pass } = toSummary(summary);
    for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += counts[key];
    addBreakdown(breakdown, pass);
  }
  return { counts: total, breakdown };
}

/** Orders source positions by run and segment, then by offset; letters without one go last. */
function comparePositions(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const cut = (p: string) => p.lastIndexOf('-');
  const segmentA = a.slice(0, cut(a));
  const segmentB = b.slice(0, cut(b));
  if (segmentA !== segmentB) return segmentA < segmentB ? -1 : 1;
  return Number.parseFloat(a.slice(cut(a) + 1)) - Number.parseFloat(b.slice(cut(b) + 1));
}
