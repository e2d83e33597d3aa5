import {
  defineConnector,
  FatalError,
  type ConnectorInstance,
  type JsonValue,
  type Logger,
  type PluginContext,
} from '@sluice/core';
import { periodMs, sampleConfigSchema, type SampleConfig } from './config.js';
import { DEFAULT_START_DATE, sampleRecord } from './generate.js';

function cursorOf(state: JsonValue | undefined): number {
  if (state === undefined || state === null) return 0;
  if (
    typeof state === 'object' &&
    !Array.isArray(state) &&
    typeof state.seq === 'number' &&
    Number.isInteger(state.seq) &&
    state.seq >= 0
  ) {
    return state.seq;
  }
  throw new FatalError(
    `sample connector: the checkpoint ${JSON.stringify(state)} is not { "seq": <integer> }`,
  );
}

/**
 * Where a clock-mode read starts: after the checkpoint when it was written with this period and
 * channel list (a `seq` means a period and a channel only with both), else at the first period of
 * the `backfill` window.
 */
function clockStart(
  state: JsonValue | undefined,
  config: SampleConfig,
  nowPeriod: number,
  logger: Logger,
): number {
  const fresh = Math.max(0, nowPeriod - config.backfill) * config.channels.length;
  if (state === undefined || state === null) return fresh;
  const seq = cursorOf(state);
  const { period, channels } = state as { period?: unknown; channels?: unknown };
  if (period === config.period && channels === config.channels.length) return seq;
  logger.warn(
    { checkpoint: state, period: config.period, channels: config.channels.length },
    'sample: the checkpoint was written for another period or channel list; starting at the current period',
  );
  return fresh;
}

/** One sample connector instance: reads, checks and describes the generated data set. */
function createSampleConnector(config: SampleConfig, ctx: PluginContext): ConnectorInstance {
  const channels = config.channels.length;
  const options = {
    seed: config.seed,
    channels: config.channels,
    startDate: config.startDate,
    ...(config.period === undefined ? {} : { periodMs: periodMs(config.period) }),
  };
  return {
    async *read(request, signal) {
      let from: number;
      let until: number;
      let marker: { period?: string; channels?: number } = {};
      if (options.periodMs === undefined) {
        from = cursorOf(request.state);
        until = Math.min(from + config.perRun, config.total ?? Number.MAX_SAFE_INTEGER);
      } else {
        const nowPeriod = Math.floor(ctx.clock.now() / options.periodMs);
        from = clockStart(request.state, config, nowPeriod, ctx.logger);
        // The current period's set is the last one there is: nothing dated ahead of the clock.
        until = Math.min(from + config.perRun, (nowPeriod + 1) * channels);
        marker = { period: config.period!, channels };
      }
      for (let start = from; start < until; start += config.pageSize) {
        signal.throwIfAborted();
        const end = Math.min(start + config.pageSize, until);
        const records = [];
        for (let seq = start + 1; seq <= end; seq++) records.push(sampleRecord(seq, options));
        yield { records, state: { seq: end, ...marker } };
      }
    },
    async check() {
      return {
        ok: true,
        message:
          config.period === undefined
            ? `sample data: ${channels} channel(s) from ${config.startDate ?? DEFAULT_START_DATE}`
            : `sample data: ${channels} channel(s), one record set per ${config.period} up to now`,
      };
    },
    async discover() {
      return [
        {
          name: 'traffic',
          fields: [
            {
              name: 'seq',
              type: 'integer',
              description: 'sequence number, the incremental cursor',
            },
            {
              name: 'date',
              type: 'date',
              description: 'the day of the record (UTC), of its period with `period`',
            },
            ...(config.period === undefined
              ? []
              : [
                  {
                    name: 'periodStart',
                    type: 'timestamp',
                    description: 'start of the period of the record',
                  },
                ]),
            { name: 'channel', type: 'string' },
            { name: 'sessions', type: 'integer' },
            { name: 'conversions', type: 'integer' },
            { name: 'revenue', type: 'number' },
          ],
        },
      ];
    },
  };
}

/**
 * A connector that generates deterministic marketing traffic (date, channel, sessions,
 * conversions, revenue) with a sequence number as its incremental cursor. It needs nothing
 * external, so the quick start, demos and end-to-end tests can show data flowing at once.
 *
 * Without `period` the records are a fixed data set: record `seq` is always the same, and each
 * cycle of the channels is the next day from `startDate`, however often it runs. With `period`
 * the dates follow the clock: one record set (one record per channel) per period, dated by the
 * period, and a read stops at the current period, so a run every 5 seconds with `period: 5s`
 * reads one set per run and never a date ahead of today.
 *
 * @example
 * ```ts
 * const connector = await sampleConnector.create(parseConfig(sampleConnector.configSchema, { perRun: 10 }), createPluginContext());
 * for await (const page of connector.read({}, new AbortController().signal)) console.log(page.records.length, page.state);
 * ```
 */
export const sampleConnector = defineConnector({
  kind: 'sample',
  version: '0.1.0',
  // Records are a pure function of the seed and the position: a re-read is identical.
  rereads: 'same',
  description:
    'Deterministic sample marketing data (no external service), optionally following the clock.',
  configSchema: sampleConfigSchema,
  create: (config, ctx) => createSampleConnector(config, ctx),
});
