/**
 * The interfaces through which the scheduler and the REST API talk to Sluice's store: run
 * history and lifecycle, schedule ticks, webhook replay protection, dead letters and versioned
 * configuration. Structural only: `@sluice/store` implements them over PostgreSQL or PGlite,
 * tests may implement them in memory.
 *
 * @packageDocumentation
 */
import type {
  CheckpointStore,
  DeadLetter,
  DeadLetterSink,
  ExpectationAction,
  ExpectationCheck,
} from './pipeline.js';
import type { JsonValue } from './record.js';

/** A JSON object (the shape of configs, run params and log fields). */
export type JsonObject = { [key: string]: JsonValue };

/**
 * One page of a list: the items and the opaque cursor of the next page (`null` on the last page).
 * Pass `nextCursor` back as `cursor` to continue.
 *
 * @example
 * ```ts
 * let cursor: string | null = null;
 * do {
 *   const page: ResultPage<RunRecord> = await runs.list({ pipeline: 'daily', limit: 50, cursor });
 *   for (const run of page.items) console.log(run.id, run.status);
 *   cursor = page.nextCursor;
 * } while (cursor);
 * ```
 */
export interface ResultPage<T> {
  items: T[];
  nextCursor: string | null;
}

/** Paging options of every `list` call. */
export interface PageOptions {
  /** Items per page, 1..1000. Default 50. */
  limit?: number;
  /** A `nextCursor` from the previous page; absent or `null` for the first page. */
  cursor?: string | null;
}

// ---------------------------------------------------------------------------------------------
// Runs

/**
 * Where a run is in its life: `queued` → `running` → `succeeded` | `failed` | `cancelled`
 * (a queued run may also go straight to `cancelled`).
 *
 * @example
 * ```ts
 * const done: RunStatus[] = ['succeeded', 'failed', 'cancelled'];
 * ```
 */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** The terminal {@link RunStatus} values. */
export type FinishedRunStatus = 'succeeded' | 'failed' | 'cancelled';

/**
 * What started a run.
 *
 * @example
 * ```ts
 * const trigger: RunTrigger = 'webhook';
 * ```
 */
export type RunTrigger = 'cron' | 'webhook' | 'api' | 'replay' | 'cli';

/**
 * Record counts of a run.
 *
 * @example
 * ```ts
 * const counts: RunCounts = { read: 120, delivered: 118, deadLettered: 2, dropped: 0, failed: 0 };
 * ```
 */
export interface RunCounts {
  /** Records read from the source. */
  read: number;
  /** Record deliveries acknowledged by destinations (one record to two destinations counts 2). */
  delivered: number;
  /** Record deliveries that ended as dead letters. */
  deadLettered: number;
  /** Record deliveries dropped by a route's `onError: drop` or matched by no route. */
  dropped: number;
  /** Record deliveries that failed the run (`onError: fail-run`). */
  failed: number;
}

/**
 * Counts of one route in a run (see {@link RunBreakdown}).
 *
 * @example
 * ```ts
 * const route: RunRouteCounts = { matched: 40, produced: 40, droppedByTransform: 0, failed: 0 };
 * ```
 */
export interface RunRouteCounts {
  /** Records whose condition matched (the default route: the records it took). */
  matched: number;
  /** Records the route's transforms produced (after unnest and drop steps). */
  produced: number;
  /** Input records a transform dropped (they produced nothing). */
  droppedByTransform: number;
  /** Records whose condition or transform failed. */
  failed: number;
}

/**
 * Counts of one destination in a run (see {@link RunBreakdown}). Deliveries are records: a batch
 * of 500 delivered counts 500.
 *
 * @example
 * ```ts
 * const warehouse: RunDestinationCounts = {
 *   delivered: 38, failed: 0, deadLettered: 2, dropped: 0, batches: 1, retries: 1,
 * };
 * ```
 */
export interface RunDestinationCounts {
  /** Records the destination acknowledged. */
  delivered: number;
  /** Records given up after retries with `onError: 'fail-run'`. */
  failed: number;
  /** Records written as dead letters for this destination (after retries, or by expectations). */
  deadLettered: number;
  /**
   * Records given up after retries with `onError: 'drop'`, or dropped by one of the
   * destination's own expectations.
   */
  dropped: number;
  /** Batches written (acknowledged or not). */
  batches: number;
  /** Write attempts repeated after a retryable error. */
  retries: number;
}

/**
 * Counts of one expectation of a route or a destination in a run (see {@link RunBreakdown}).
 *
 * @example
 * ```ts
 * const notNull: RunExpectationCounts = { check: 'required', action: 'dead-letter', field: 'email', checked: 40, violations: 3 };
 * ```
 */
export interface RunExpectationCounts {
  check: ExpectationCheck;
  /** What a violation does. */
  action: ExpectationAction;
  /** The field path the check reads, when it reads one. */
  field?: string;
  /** Records (or runs, for run-level checks) tested. */
  checked: number;
  /** Tests that failed. */
  violations: number;
}

/**
 * A run's counts by route, by destination and by expectation: the detail behind
 * {@link RunCounts}, stored when the run finishes. Names and numbers only, never record data.
 * A record sent to two destinations counts once in its route's `matched` and once in each
 * destination's `delivered`, so the destinations' `delivered` add up to `counts.delivered`.
 *
 * @example
 * ```ts
 * const breakdown: RunBreakdown = {
 *   routes: { all: { matched: 40, produced: 40, droppedByTransform: 0, failed: 0 } },
 *   destinations: {
 *     warehouse: { delivered: 40, failed: 0, deadLettered: 0, dropped: 0, batches: 1, retries: 0 },
 *     archive: { delivered: 40, failed: 0, deadLettered: 0, dropped: 0, batches: 1, retries: 0 },
 *   },
 * };
 * ```
 */
export interface RunBreakdown {
  /** By route name. */
  routes: Record<string, RunRouteCounts>;
  /** By destination name. */
  destinations: Record<string, RunDestinationCounts>;
  /** By route name, then expectation name; present only when some route declares `expect`. */
  expectations?: Record<string, Record<string, RunExpectationCounts>>;
  /**
   * By destination name, then expectation name (`destinations.<name>.expect`, checked on every
   * record the destination received); present only when some destination declares `expect`.
   */
  destinationExpectations?: Record<string, Record<string, RunExpectationCounts>>;
}

/**
 * Why a run failed (never a secret: redact before storing).
 *
 * @example
 * ```ts
 * const error: RunError = { name: 'FatalError', message: 'HubSpot rejected the token', code: 'SLUICE_ERR_FATAL' };
 * ```
 */
export interface RunError {
  name: string;
  message: string;
  code?: string;
}

/**
 * One run of a pipeline as the store keeps it. Timestamps are ISO 8601 strings (UTC).
 *
 * @example
 * ```ts
 * const run: RunRecord = await runs.create({ pipeline: 'daily', trigger: 'cron' });
 * run.status; // 'queued'
 * ```
 */
export interface RunRecord {
  id: string;
  pipeline: string;
  /** Version of the pipeline config the run uses; `null` when the config is not versioned in the store. */
  pipelineVersion: number | null;
  trigger: RunTrigger;
  status: RunStatus;
  /** Trigger input: API body, webhook payload summary, replayed dead-letter ids, ... */
  params: JsonObject;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: RunCounts;
  /** Counts by route, destination and expectation; `null` until the run finishes, and for runs stored before they were kept. */
  breakdown: RunBreakdown | null;
  error: RunError | null;
  /** 1 on the first try; a worker that re-claims a crashed run increments it. */
  attempt: number;
  /** When cancellation was requested (the worker stops at its next check), else `null`. */
  cancelRequestedAt: string | null;
  /** The run this one retries or replays. */
  parentRunId?: string;
}

/**
 * Input of {@link RunStore.create}.
 *
 * @example
 * ```ts
 * const input: NewRun = { pipeline: 'daily', trigger: 'api', params: { date: '2026-11-24' } };
 * ```
 */
export interface NewRun {
  /** Run id; generated (UUID) when absent. Lets the scheduler reuse its job id. */
  id?: string;
  pipeline: string;
  pipelineVersion?: number | null;
  trigger: RunTrigger;
  params?: JsonObject;
  /** Default: now. */
  queuedAt?: string;
  parentRunId?: string;
}

/**
 * Filters of {@link RunStore.list}; runs come newest first.
 *
 * @example
 * ```ts
 * const filter: RunListFilter = { pipeline: 'daily', status: ['failed'], limit: 20 };
 * ```
 */
export interface RunListFilter extends PageOptions {
  pipeline?: string;
  status?: RunStatus | RunStatus[];
  trigger?: RunTrigger;
}

/**
 * How a run ended: input of {@link RunStore.markFinished}.
 *
 * @example
 * ```ts
 * const outcome: RunOutcome = { status: 'succeeded', counts: { read: 3, delivered: 3, deadLettered: 0, dropped: 0, failed: 0 } };
 * ```
 */
export interface RunOutcome {
  status: FinishedRunStatus;
  counts?: Partial<RunCounts>;
  /** Counts by route, destination and expectation; a failed run passes what it had. */
  breakdown?: RunBreakdown;
  error?: RunError | null;
  /** Default: now. */
  finishedAt?: string;
  /**
   * Lines to append to the run's log in the same statement as the transition (the scheduler's
   * `run succeeded` / `run failed`), after every line appended before. Stored whenever the run
   * exists, whether or not this call moved it; nothing is stored for an unknown id.
   */
  log?: readonly NewRunLogEntry[];
}

/**
 * Options of {@link RunStore.markRunning}.
 *
 * @example
 * ```ts
 * const options: MarkRunningOptions = { ifMissing: { pipeline: 'daily', trigger: 'cron', params: {} } };
 * ```
 */
export interface MarkRunningOptions {
  /** Default: now. */
  startedAt?: string;
  /**
   * When no run has the id, record this one, already `running`, in the same statement: a worker
   * that claims a job before (or without) its enqueuer writing the run needs no second round trip.
   */
  ifMissing?: Omit<NewRun, 'id'>;
}

/**
 * How a grouped run write ({@link RunStore.createManyIfAbsent}, {@link RunStore.markManyRunning},
 * {@link RunStore.markManyFinished}) commits.
 *
 * @example
 * ```ts
 * // The job queue's next statement (a synchronous commit, after this one) makes it durable.
 * const options: RunWriteOptions = { waitForFlush: false };
 * ```
 */
export interface RunWriteOptions {
  /**
   * Default true: resolves once the write is durable. `false`: resolves once it is committed and
   * visible, without waiting for the WAL flush (PostgreSQL's `synchronous_commit = off` for that
   * statement); a crash within a moment after may lose it. The WAL is flushed in order, so any
   * synchronous commit made after it — on any connection — makes it durable too: the scheduler
   * relies on that, each such write being followed or preceded by its job's own statement.
   */
  waitForFlush?: boolean;
}

/**
 * Totals of one pipeline's runs that finished in a time window: output of
 * {@link RunStore.countsSince}. `read` is the records in, `delivered` the deliveries out.
 *
 * @example
 * ```ts
 * const activity: PipelineActivity = {
 *   pipeline: 'daily',
 *   runs: 3,
 *   counts: { read: 300, delivered: 298, deadLettered: 2, dropped: 0, failed: 0 },
 * };
 * ```
 */
export interface PipelineActivity {
  pipeline: string;
  /** How many runs finished in the window (succeeded, failed or cancelled). */
  runs: number;
  /** Sums of those runs' counts. */
  counts: RunCounts;
}

/** Severity of a run log line. */
export type RunLogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * A log line to append to a run.
 *
 * @example
 * ```ts
 * const line: NewRunLogEntry = { level: 'info', message: 'read page 3', fields: { records: 500 } };
 * ```
 */
export interface NewRunLogEntry {
  level: RunLogLevel;
  message: string;
  fields?: JsonObject;
  /** Default: now. */
  at?: string;
}

/**
 * A stored run log line; `seq` increases within a run and is the tailing cursor.
 *
 * @example
 * ```ts
 * const [first]: RunLogEntry[] = await runs.listLogs(runId);
 * ```
 */
export interface RunLogEntry {
  seq: number;
  at: string;
  level: RunLogLevel;
  message: string;
  fields: JsonObject | null;
}

/**
 * Run history and lifecycle. Mutators return the run after the change, or `undefined` when no run
 * has that id. Transitions are guarded in the database, so concurrent workers and API calls
 * cannot move a run backwards.
 *
 * @example
 * ```ts
 * const run = await runs.create({ pipeline: 'daily', trigger: 'cron' });
 * const claimed = await runs.markRunning(run.id);
 * if (claimed?.status === 'running') {
 *   // ... work, checking `await runs.isCancelRequested(run.id)` between pages
 *   await runs.markFinished(run.id, { status: 'succeeded', counts: { read: 10, delivered: 10 } });
 * }
 * ```
 */
export interface RunStore {
  /** Records a new `queued` run. Rejects when `id` is already used. */
  create(run: NewRun): Promise<RunRecord>;
  /**
   * Records a new `queued` run unless one with `run.id` exists, in one statement that reads
   * nothing back: resolves the new run, or `undefined` when the id was taken (that run is left as
   * it is). Validates like {@link RunStore.create}.
   */
  createIfAbsent(run: NewRun & { id: string }): Promise<RunRecord | undefined>;
  /**
   * {@link RunStore.createIfAbsent} of several runs in one statement (the scheduler records runs
   * triggered together this way): resolves the ids it created; a taken id is left as it is. The
   * ids must differ. Validates like {@link RunStore.create}; one invalid run rejects them all.
   */
  createManyIfAbsent(
    runs: readonly (NewRun & { id: string })[],
    options?: RunWriteOptions,
  ): Promise<string[]>;
  get(id: string): Promise<RunRecord | undefined>;
  /** Newest first (by `queuedAt`, then id). */
  list(filter?: RunListFilter): Promise<ResultPage<RunRecord>>;
  /**
   * How many runs of `pipeline` are `queued` (waiting for a worker or their start time). The
   * scheduler's back-pressure bound (`maxQueuedRuns`) reads it on every webhook and API trigger,
   * so it is one indexed count, never a page of records.
   */
  countQueued(pipeline: string): Promise<number>;
  /**
   * Per pipeline, the number of runs that finished at or after `since` (ISO time) and the sums
   * of their counts, sorted by pipeline; pipelines without such a run are absent. Runs still
   * queued or running are left out: their counts are written when they finish. One grouped,
   * indexed query (`runs_finished_idx`), whatever the number of pipelines.
   */
  countsSince(since: string, options?: { pipeline?: string }): Promise<PipelineActivity[]>;
  /**
   * `queued` → `running` (sets `startedAt`); on a run that is already `running` (a worker
   * re-claims it after a crash) increments `attempt`. A finished run is returned unchanged: the
   * caller must check `status === 'running'` before working (a queued run may have been cancelled).
   * With `options.ifMissing`, an unknown id is recorded as a new `running` run (see
   * {@link MarkRunningOptions}); without it, an unknown id resolves `undefined`.
   */
  markRunning(id: string, options?: MarkRunningOptions): Promise<RunRecord | undefined>;
  /**
   * {@link RunStore.markRunning} of several runs, each with its own options: those with
   * `ifMissing` in one statement (the scheduler marks the runs its workers claimed together this
   * way; a run it did not move is read back in one more). Resolves the run after the change for
   * each, in order (`undefined` for an unknown id without `ifMissing`). The ids must differ.
   */
  markManyRunning(
    runs: readonly ({ id: string } & MarkRunningOptions)[],
    options?: RunWriteOptions,
  ): Promise<(RunRecord | undefined)[]>;
  /** Moves a `queued`/`running` run to its terminal status; a finished run is returned unchanged. */
  markFinished(id: string, outcome: RunOutcome): Promise<RunRecord | undefined>;
  /**
   * {@link RunStore.markFinished} of several runs in one statement, each with its own outcome and
   * log lines (the scheduler finishes the runs that ended together this way; a run it did not
   * move is read back in one more). Resolves the run after the change for each, in order. The
   * ids must differ; one invalid outcome rejects them all.
   */
  markManyFinished(
    runs: readonly { id: string; outcome: RunOutcome }[],
    options?: RunWriteOptions,
  ): Promise<(RunRecord | undefined)[]>;
  /**
   * Asks a run to stop: a `queued` run becomes `cancelled` at once; a `running` run gets
   * `cancelRequestedAt` and its worker finishes it as `cancelled`; a finished run is unchanged.
   */
  requestCancel(id: string): Promise<RunRecord | undefined>;
  /** True once {@link RunStore.requestCancel} was called on the run (false for unknown ids). */
  isCancelRequested(id: string): Promise<boolean>;
  /** Appends log lines to a run, in order. */
  appendLog(runId: string, entries: readonly NewRunLogEntry[]): Promise<void>;
  /** Log lines after `afterSeq` (default: from the start), oldest first, at most `limit` (default 500). */
  listLogs(runId: string, options?: { afterSeq?: number; limit?: number }): Promise<RunLogEntry[]>;
}

// ---------------------------------------------------------------------------------------------
// Schedules and webhooks

/**
 * The last cron tick fired per pipeline schedule, for "one fire per tick across instances" and
 * missed-run catch-up after downtime.
 *
 * @example
 * ```ts
 * const tick = '2026-11-24T07:00:00.000Z';
 * if (await ticks.setLastTick('daily', 'morning', tick)) {
 *   await enqueueRun('daily'); // this instance won the tick
 * }
 * ```
 */
export interface ScheduleStateStore {
  /** ISO time of the last fired tick, or `undefined` when the schedule never fired. */
  getLastTick(pipeline: string, schedule: string): Promise<string | undefined>;
  /**
   * Records `tick` as fired if it is later than the stored one (compare-and-set). Returns true
   * when this call advanced it, false when that tick (or a later one) was already recorded —
   * another instance fired it.
   */
  setLastTick(pipeline: string, schedule: string, tick: string): Promise<boolean>;
}

/**
 * Delivery ids of received webhooks and the run each one started, for replay protection.
 *
 * @example
 * ```ts
 * const claim = await deliveries.recordDelivery('daily', deliveryId, new Date().toISOString(), runId);
 * if (!claim.fresh) return reply.code(200).send({ runId: claim.runId ?? runId, deliveryId, duplicate: true });
 * ```
 */
export interface WebhookDeliveryStore {
  /**
   * Records a delivery and the run it starts, atomically: of any number of concurrent calls with
   * the same pipeline and delivery id exactly one gets `fresh: true` (the database's uniqueness
   * decides, not a read before the write). The others get `fresh: false` and the run id recorded
   * by the first (`undefined` for a delivery recorded before run ids were kept).
   */
  recordDelivery(
    pipeline: string,
    deliveryId: string,
    receivedAt: string,
    runId: string,
  ): Promise<{ fresh: boolean; runId: string | undefined }>;
  /**
   * Forgets deliveries received before `before` (ISO time), except those of `exceptPipelines`
   * (pipelines whose ids no time window bounds: scheme `none`); returns how many were removed.
   */
  pruneDeliveries(
    before: string,
    options?: { exceptPipelines?: readonly string[] },
  ): Promise<number>;
}

/** What {@link WebhookInboxStore.append} did with one delivery. */
export type WebhookInboxAppend =
  /** Appended at `position` (committed when the promise resolves). */
  | { outcome: 'appended'; position: number }
  /** A copy of a delivery id this pipeline accepted before: nothing appended. */
  | { outcome: 'duplicate' }
  /** The pipeline already had `depth` undelivered rows (at least `maxDepth`): nothing appended or claimed. */
  | { outcome: 'full'; depth: number };

/** One accepted delivery waiting in a pipeline's webhook inbox. */
export interface WebhookInboxEntry {
  /** Position in the inbox: increasing in commit order within what one read returns. */
  position: number;
  deliveryId: string;
  receivedAt: string;
  records: JsonObject[];
}

/**
 * The durable webhook inbox (`webhook.delivery: inbox`): accepted deliveries of a pipeline wait
 * here until a drain run routes them and commits the pipeline's inbox checkpoint.
 *
 * @example
 * ```ts
 * const added = await inbox.append({ pipeline: 'events', deliveryId: 'msg_1', receivedAt, records, maxDepth: 10_000 });
 * const entries = await inbox.read('events', { after: 0, limit: 1000 });
 * await inbox.remove('events', entries.at(-1)!.position);
 * ```
 */
export interface WebhookInboxStore {
  /**
   * Claims the delivery id (in the {@link WebhookDeliveryStore}'s table, so a copy is absorbed
   * also after its row was delivered and removed) and appends its records, in one statement:
   * both or neither. Past `maxDepth` undelivered rows nothing is claimed, so the sender's retry
   * of the same id is appended once there is room.
   */
  append(entry: {
    pipeline: string;
    deliveryId: string;
    receivedAt: string;
    records: readonly JsonObject[];
    maxDepth: number;
  }): Promise<WebhookInboxAppend>;
  /**
   * Up to `limit` entries of `pipeline` after position `after`, in position order. Never returns
   * an entry while an entry with a lower position may still commit, so a checkpoint at the last
   * position read skips nothing.
   */
  read(pipeline: string, options: { after: number; limit: number }): Promise<WebhookInboxEntry[]>;
  /** Removes the entries of `pipeline` up to and including `through` (delivered, checkpoint committed); returns how many. */
  remove(pipeline: string, through: number): Promise<number>;
  /** Undelivered entries of `pipeline`. */
  depth(pipeline: string): Promise<number>;
  /** Pipelines with entries waiting (a restarted server drains them). */
  pending(): Promise<string[]>;
}

// ---------------------------------------------------------------------------------------------
// Dead letters

/**
 * `pending`: waiting for a decision; `replayed`: handed to a replay run (`replayRunId`);
 * `discarded`: dropped by an operator.
 */
export type DeadLetterStatus = 'pending' | 'replayed' | 'discarded';

/**
 * A dead letter as stored, with its id and replay status.
 *
 * @example
 * ```ts
 * const letter: StoredDeadLetter | undefined = await deadLetters.get(id);
 * if (letter?.status === 'pending') console.log(letter.error.message);
 * ```
 */
export interface StoredDeadLetter extends DeadLetter {
  id: string;
  status: DeadLetterStatus;
  /** When the letter was stored. */
  createdAt: string;
  replayRunId: string | null;
  replayedAt: string | null;
  discardedAt: string | null;
}

/**
 * Filters of {@link DeadLetterStore.list}; letters come newest first.
 *
 * @example
 * ```ts
 * const filter: DeadLetterListFilter = { pipeline: 'daily', status: 'pending', limit: 100 };
 * ```
 */
export interface DeadLetterListFilter extends PageOptions {
  pipeline?: string;
  runId?: string;
  route?: string;
  destination?: string;
  status?: DeadLetterStatus;
}

/**
 * The router's dead-letter sink plus what operators need: list, inspect, replay, discard.
 * `markReplayed` and `discard` only move `pending` letters and return the ids they moved, so
 * two concurrent replays never hand the same letter to two runs.
 *
 * @example
 * ```ts
 * const { items } = await deadLetters.list({ pipeline: 'daily', status: 'pending' });
 * const run = await runs.create({ pipeline: 'daily', trigger: 'replay', params: { deadLetters: items.map((l) => l.id) } });
 * const claimed = await deadLetters.markReplayed(items.map((l) => l.id), run.id);
 * ```
 */
export interface DeadLetterStore extends DeadLetterSink {
  list(filter?: DeadLetterListFilter): Promise<ResultPage<StoredDeadLetter>>;
  get(id: string): Promise<StoredDeadLetter | undefined>;
  /** `pending` → `replayed` with the replay run's id; returns the ids that moved. */
  markReplayed(ids: readonly string[], replayRunId: string): Promise<string[]>;
  /** `pending` → `discarded`; returns the ids that moved. */
  discard(ids: readonly string[]): Promise<string[]>;
}

// ---------------------------------------------------------------------------------------------
// Versioned configuration (pipelines, connections, destinations, schedules)

/**
 * One saved version of a named config object.
 *
 * @example
 * ```ts
 * const v: ConfigVersion | undefined = await pipelines.getLatest('daily');
 * v?.version; // 3
 * ```
 */
export interface ConfigVersion {
  name: string;
  /** 1, 2, 3, ... per name. */
  version: number;
  config: JsonObject;
  createdAt: string;
}

/**
 * A named config object's current state, without its config.
 *
 * @example
 * ```ts
 * for (const entry of await pipelines.list()) console.log(entry.name, entry.latestVersion, entry.enabled);
 * ```
 */
export interface ConfigEntry {
  name: string;
  latestVersion: number;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/**
 * Result of {@link VersionedConfigStore.save}: the latest version and whether this save created it.
 *
 * @example
 * ```ts
 * const { version, changed }: SavedConfig = await pipelines.save('daily', config);
 * ```
 */
export interface SavedConfig extends ConfigVersion {
  /** False when the config equals the latest version (no new version was written). */
  changed: boolean;
}

/**
 * Named, versioned config objects: every save of a changed config writes version n+1; older
 * versions stay readable (runs name the version they used). Removing hides the name; saving it
 * again continues its version numbers.
 *
 * @example
 * ```ts
 * const saved = await pipelines.save('daily', { source: 'ga4', routes: [] });
 * await pipelines.setEnabled('daily', false);
 * const v1 = await pipelines.getVersion('daily', 1);
 * ```
 */
export interface VersionedConfigStore {
  /** Saves `config` as the next version when it differs from the latest (key order ignored). */
  save(name: string, config: JsonObject): Promise<SavedConfig>;
  getLatest(name: string): Promise<ConfigVersion | undefined>;
  getVersion(name: string, version: number): Promise<ConfigVersion | undefined>;
  /** Every version of `name`, newest first. */
  listVersions(name: string): Promise<ConfigVersion[]>;
  /** Current entry of `name` (removed names are `undefined`). */
  getEntry(name: string): Promise<ConfigEntry | undefined>;
  /** Every entry not removed, by name. */
  list(): Promise<ConfigEntry[]>;
  /** Returns false when `name` does not exist. */
  setEnabled(name: string, enabled: boolean): Promise<boolean>;
  /** Hides `name` (its versions stay for run history); false when it does not exist. */
  remove(name: string): Promise<boolean>;
}

/**
 * Versioned pipeline configs (sources, routes, destinations by name, schedules).
 *
 * @example
 * ```ts
 * const { version } = await store.pipelines.save('daily', pipelineConfig);
 * await store.runs.create({ pipeline: 'daily', pipelineVersion: version, trigger: 'api' });
 * ```
 */
export type PipelineVersionStore = VersionedConfigStore;

// ---------------------------------------------------------------------------------------------
// pg-boss on the store's database

/**
 * What pg-boss 12 needs to run SQL on a database it does not connect to itself (its `db` option).
 *
 * @example
 * ```ts
 * const db: JobQueueDatabase = { executeSql: (text, values) => pglite.query(text, values) };
 * ```
 */
export interface JobQueueDatabase {
  // pg-boss types rows as any[]; unknown[] would not be assignable to its IDatabase.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

/**
 * Options to spread into `new PgBoss({...})` so the job queue lives in the store's database:
 * a connection string on PostgreSQL, a `db` adapter (and `backend: 'pglite'`) on PGlite.
 *
 * @example
 * ```ts
 * import { PgBoss } from 'pg-boss';
 * const boss = new PgBoss({ ...store.pgBossDb(), schema: 'sluice_jobs' });
 * ```
 */
export type JobQueueConnection =
  { connectionString: string } | { db: JobQueueDatabase; backend: 'pglite' };

/**
 * Everything the scheduler and the API need from a store, grouped by concern (each group has its
 * own `get`/`list`, so they are properties, not one flat interface).
 *
 * @example
 * ```ts
 * function createScheduler(store: Pick<SluiceStore, 'runs' | 'scheduleState' | 'webhookDeliveries' | 'pgBossDb'>) {}
 * ```
 */
export interface SluiceStore {
  runs: RunStore;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  scheduleState: ScheduleStateStore;
  webhookDeliveries: WebhookDeliveryStore;
  /** The durable webhook inbox (`webhook.delivery: inbox`); a store without one refuses such pipelines' deliveries. */
  webhookInbox?: WebhookInboxStore;
  pipelines: PipelineVersionStore;
  connections: VersionedConfigStore;
  destinations: VersionedConfigStore;
  schedules: VersionedConfigStore;
  /** pg-boss options that put its queue in this store's database. */
  pgBossDb(): JobQueueConnection;
}
