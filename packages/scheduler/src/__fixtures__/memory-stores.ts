/**
 * In-memory implementations of the store interfaces the scheduler uses, for this package's
 * tests. Same semantics as `@sluice/store` (guarded transitions, compare-and-set ticks, atomic
 * delivery records), without a database. Not exported from the package.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type {
  NewRun,
  NewRunLogEntry,
  PipelineActivity,
  ResultPage,
  RunCounts,
  RunListFilter,
  RunLogEntry,
  RunOutcome,
  RunRecord,
  RunStore,
  ScheduleStateStore,
  WebhookDeliveryStore,
} from '@sluice/core';
import type { SchedulerStores } from '../types.js';

const ZERO = { read: 0, delivered: 0, deadLettered: 0, dropped: 0, failed: 0 };

/**
 * A {@link RunStore} in memory.
 *
 * @example
 * ```ts
 * const runs = createMemoryRunStore();
 * const run = await runs.create({ pipeline: 'p', trigger: 'api' });
 * ```
 */
export function createMemoryRunStore(): RunStore & { all(): RunRecord[] } {
  const runs = new Map<string, RunRecord>();
  const logs = new Map<string, RunLogEntry[]>();
  const copy = (run: RunRecord | undefined) => (run ? structuredClone(run) : undefined);
  const newRun = (input: NewRun, id: string): RunRecord => ({
    id,
    pipeline: input.pipeline,
    pipelineVersion: input.pipelineVersion ?? null,
    trigger: input.trigger,
    status: 'queued',
    params: input.params ?? {},
    queuedAt: input.queuedAt ?? new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
    counts: { ...ZERO },
    breakdown: null,
    error: null,
    attempt: 1,
    cancelRequestedAt: null,
    ...(input.parentRunId === undefined ? {} : { parentRunId: input.parentRunId }),
  });
  const append = (runId: string, entries: readonly NewRunLogEntry[]) => {
    const list = logs.get(runId) ?? [];
    for (const entry of entries) {
      list.push({
        seq: list.length + 1,
        at: entry.at ?? new Date().toISOString(),
        level: entry.level,
        message: entry.message,
        fields: entry.fields ?? null,
      });
    }
    logs.set(runId, list);
  };
  return {
    all: () => [...runs.values()].map((run) => structuredClone(run)),
    async create(input: NewRun) {
      const id = input.id ?? randomUUID();
      if (runs.has(id)) throw new Error(`run ${id} already exists`);
      const run = newRun(input, id);
      runs.set(id, run);
      return structuredClone(run);
    },
    async createIfAbsent(input) {
      if (runs.has(input.id)) return undefined;
      const run = newRun(input, input.id);
      runs.set(input.id, run);
      return structuredClone(run);
    },
    async createManyIfAbsent(inputs) {
      const created: string[] = [];
      for (const input of inputs) if (await this.createIfAbsent(input)) created.push(input.id);
      return created;
    },
    async get(id) {
      return copy(runs.get(id));
    },
    async list(filter: RunListFilter = {}): Promise<ResultPage<RunRecord>> {
      const statuses = filter.status === undefined ? undefined : [filter.status].flat();
      const items = [...runs.values()]
        .filter(
          (r) =>
            (filter.pipeline === undefined || r.pipeline === filter.pipeline) &&
            (!statuses || statuses.includes(r.status)) &&
            (filter.trigger === undefined || r.trigger === filter.trigger),
        )
        .sort((a, b) =>
          a.queuedAt < b.queuedAt ? 1 : a.queuedAt > b.queuedAt ? -1 : a.id < b.id ? 1 : -1,
        );
      return {
        items: items.slice(0, filter.limit ?? 50).map((r) => structuredClone(r)),
        nextCursor: null,
      };
    },
    async countQueued(pipeline) {
      return [...runs.values()].filter((r) => r.pipeline === pipeline && r.status === 'queued')
        .length;
    },
    async countsSince(since, options = {}) {
      const byPipeline = new Map<string, PipelineActivity>();
      for (const run of runs.values()) {
        if (run.finishedAt === null || run.finishedAt < new Date(since).toISOString()) continue;
        if (options.pipeline !== undefined && run.pipeline !== options.pipeline) continue;
        const total = byPipeline.get(run.pipeline) ?? {
          pipeline: run.pipeline,
          runs: 0,
          counts: { read: 0, delivered: 0, deadLettered: 0, dropped: 0, failed: 0 },
        };
        total.runs += 1;
        for (const key of Object.keys(total.counts) as (keyof RunCounts)[]) {
          total.counts[key] += run.counts[key];
        }
        byPipeline.set(run.pipeline, total);
      }
      return [...byPipeline.values()].sort((a, b) => (a.pipeline < b.pipeline ? -1 : 1));
    },
    async markManyRunning(inputs) {
      const marked: (RunRecord | undefined)[] = [];
      for (const { id, ...options } of inputs) marked.push(await this.markRunning(id, options));
      return marked;
    },
    async markManyFinished(inputs) {
      const finished: (RunRecord | undefined)[] = [];
      for (const { id, outcome } of inputs) finished.push(await this.markFinished(id, outcome));
      return finished;
    },
    async markRunning(id, options = {}) {
      if (!runs.has(id) && options.ifMissing) {
        const created = { ...newRun(options.ifMissing, id), status: 'running' as const };
        created.startedAt = options.startedAt ?? new Date().toISOString();
        runs.set(id, created);
        return copy(created);
      }
      const run = runs.get(id);
      if (!run) return undefined;
      if (run.status === 'queued') {
        run.status = 'running';
        run.startedAt = options.startedAt ?? new Date().toISOString();
      } else if (run.status === 'running') {
        run.attempt += 1;
      }
      return copy(run);
    },
    async markFinished(id, outcome: RunOutcome) {
      const run = runs.get(id);
      if (!run) return undefined;
      append(id, outcome.log ?? []);
      if (run.status === 'queued' || run.status === 'running') {
        run.status = outcome.status;
        run.finishedAt = outcome.finishedAt ?? new Date().toISOString();
        run.counts = { ...run.counts, ...(outcome.counts ?? {}) };
        if (outcome.breakdown) run.breakdown = structuredClone(outcome.breakdown);
        run.error = outcome.error ?? null;
      }
      return copy(run);
    },
    async requestCancel(id) {
      const run = runs.get(id);
      if (!run) return undefined;
      if (run.status === 'queued') {
        run.status = 'cancelled';
        run.finishedAt = new Date().toISOString();
        run.cancelRequestedAt = run.finishedAt;
      } else if (run.status === 'running') {
        run.cancelRequestedAt ??= new Date().toISOString();
      }
      return copy(run);
    },
    async isCancelRequested(id) {
      return runs.get(id)?.cancelRequestedAt != null;
    },
    async appendLog(runId, entries: readonly NewRunLogEntry[]) {
      append(runId, entries);
    },
    async listLogs(runId, options = {}) {
      return (logs.get(runId) ?? [])
        .filter((e) => e.seq > (options.afterSeq ?? 0))
        .slice(0, options.limit ?? 500);
    },
  };
}

/**
 * A {@link ScheduleStateStore} in memory.
 *
 * @example
 * ```ts
 * const ticks = createMemoryScheduleState();
 * await ticks.setLastTick('p', 'cron', new Date().toISOString()); // true
 * ```
 */
export function createMemoryScheduleState(): ScheduleStateStore {
  const last = new Map<string, string>();
  return {
    async getLastTick(pipeline, schedule) {
      return last.get(`${pipeline}\u0000${schedule}`);
    },
    async setLastTick(pipeline, schedule, tick) {
      const key = `${pipeline}\u0000${schedule}`;
      const current = last.get(key);
      if (current !== undefined && Date.parse(current) >= Date.parse(tick)) return false;
      last.set(key, tick);
      return true;
    },
  };
}

/**
 * A {@link WebhookDeliveryStore} in memory.
 *
 * @example
 * ```ts
 * const deliveries = createMemoryWebhookDeliveries();
 * await deliveries.recordDelivery('p', 'msg_1', new Date().toISOString(), 'run-1'); // { fresh: true, runId: 'run-1' }
 * await deliveries.recordDelivery('p', 'msg_1', new Date().toISOString(), 'run-2'); // { fresh: false, runId: 'run-1' }
 * ```
 */
export function createMemoryWebhookDeliveries(): WebhookDeliveryStore {
  const seen = new Map<string, { at: string; runId: string }>();
  return {
    async recordDelivery(pipeline, deliveryId, receivedAt, runId) {
      const key = `${pipeline}\u0000${deliveryId}`;
      const first = seen.get(key);
      if (first) return { fresh: false, runId: first.runId };
      seen.set(key, { at: receivedAt, runId });
      return { fresh: true, runId };
    },
    async pruneDeliveries(before, options = {}) {
      const keep = new Set(options.exceptPipelines ?? []);
      let removed = 0;
      for (const [key, { at }] of seen) {
        if (at < before && !keep.has(key.slice(0, key.indexOf('\u0000')))) {
          seen.delete(key);
          removed += 1;
        }
      }
      return removed;
    },
  };
}

/**
 * Every store the scheduler needs, in memory.
 *
 * @example
 * ```ts
 * const stores = createMemoryStores();
 * createScheduler({ stores, ... });
 * ```
 */
export function createMemoryStores(): SchedulerStores & {
  runs: ReturnType<typeof createMemoryRunStore>;
} {
  return {
    runs: createMemoryRunStore(),
    scheduleState: createMemoryScheduleState(),
    webhookDeliveries: createMemoryWebhookDeliveries(),
  };
}
