import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  RetryableError,
  createMemoryMetrics,
  createMemoryPluginState,
  createPluginContext,
  parseConfig,
  type Logger,
  type PluginStateStore,
} from '@sluice/core';
import { makeBatch, startSlackFake, type SlackFake } from '@sluice/testing';
import { createSlackDestination } from './destination.js';
import { slackConfigSchema } from './config.js';

let fake: SlackFake;
let sequence = 0;
const signal = new AbortController().signal;

beforeAll(async () => {
  fake = await startSlackFake();
});
afterAll(() => fake.close());
beforeEach(() => fake.clearFaults());

/** A fresh channel and a config posting GA4-like drop alerts to it, deduplicated by date and channel. */
function setup(extra: Record<string, unknown> = {}) {
  const channel = fake.addChannel({ name: `dedupe-${++sequence}` });
  const config = parseConfig(slackConfigSchema, {
    token: fake.token,
    apiUrl: fake.url,
    ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
    channel: `#${channel.name}`,
    text: '{{ record.channel }} fell {{ record.change }} on {{ record.date }}',
    dedupe: { key: '{{ record.date }}:{{ record.channel }}' },
    pacingMs: 0,
    ...extra,
  });
  return { channel, config };
}

const texts = (channelId: string) => fake.messagesIn(channelId).map((m) => m.text);

/** A logger that keeps warnings. */
function warnings(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (obj: object | string, msg?: string) =>
      void lines.push(typeof obj === 'string' ? obj : (msg ?? '')),
    error: () => {},
    fatal: () => {},
    child: () => logger,
  };
  return { logger, lines };
}

describe('slack dedupe across runs (persistent plugin state)', () => {
  it('a second destination instance sharing the state skips keys already posted, and counts them delivered', async () => {
    const { channel, config } = setup();
    const state = createMemoryPluginState();
    const first = createSlackDestination(config, createPluginContext({ state }));
    await first.write(
      makeBatch(
        [
          { date: '2026-11-23', channel: 'Email', change: -0.3 },
          { date: '2026-11-23', channel: 'Display', change: -0.4 },
        ],
        { id: 'run-1-b1', runId: 'run-1' },
      ),
      { signal },
    );
    await first.close?.();

    // The next run (a restart: a new instance) re-reads the restated day.
    const metrics = createMemoryMetrics();
    const second = createSlackDestination(config, createPluginContext({ state, metrics }));
    await second.write(
      makeBatch(
        [
          { date: '2026-11-23', channel: 'Email', change: -0.25 },
          { date: '2026-11-24', channel: 'Email', change: -0.5 },
          { date: '2026-11-23', channel: 'Referral', change: -0.22 },
        ],
        { id: 'run-2-b1', runId: 'run-2' },
      ),
      { signal },
    );

    expect(texts(channel.id)).toEqual([
      'Email fell -0.3 on 2026-11-23',
      'Display fell -0.4 on 2026-11-23',
      'Email fell -0.5 on 2026-11-24',
      'Referral fell -0.22 on 2026-11-23',
    ]);
    expect(metrics.get('slack_messages_total', { outcome: 'skipped_dedupe' })).toBe(1);
    expect(metrics.get('slack_messages_total', { outcome: 'posted' })).toBe(2);
    expect(await state.get('dedupe:2026-11-23:Email')).toMatchObject({
      channel: `#${channel.name}`,
      ts: expect.any(String),
    });
  });

  it('two records with the same key in one batch post once', async () => {
    const { channel, config } = setup();
    const slack = createSlackDestination(
      config,
      createPluginContext({ state: createMemoryPluginState() }),
    );
    await slack.write(
      makeBatch([
        { date: '2026-11-23', channel: 'Email', change: -0.3 },
        { date: '2026-11-23', channel: 'Email', change: -0.3 },
      ]),
      { signal },
    );
    expect(texts(channel.id)).toHaveLength(1);
  });

  it('posts the key again once ttlHours have passed (engine clock)', async () => {
    let now = Date.parse('2026-11-24T08:00:00Z');
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const state = createMemoryPluginState({ clock });
    const { channel, config } = setup({
      dedupe: { key: '{{ record.date }}:{{ record.channel }}', ttlHours: 2 },
    });
    const slack = createSlackDestination(config, createPluginContext({ state, clock }));
    const alert = { date: '2026-11-23', channel: 'Email', change: -0.3 };
    await slack.write(makeBatch([alert], { id: 'a' }), { signal });
    now += 2 * 3_600_000 - 1;
    await slack.write(makeBatch([alert], { id: 'b' }), { signal });
    expect(texts(channel.id)).toHaveLength(1);
    now += 1;
    await slack.write(makeBatch([alert], { id: 'c' }), { signal });
    expect(texts(channel.id)).toHaveLength(2);
  });

  it('remembers a key only after a successful post: a 429 or a failed record is posted on the next try', async () => {
    const { channel, config } = setup({ channel: '{{ record.to }}' });
    const state = createMemoryPluginState();
    const slack = createSlackDestination(config, createPluginContext({ state }));
    fake.inject({
      method: 'chat.postMessage',
      status: 429,
      retryAfterSeconds: 0,
      match: (r) => r.args.channel === channel.name,
    });
    const batch = makeBatch([
      { to: channel.name, date: '2026-11-23', channel: 'Email', change: -0.3 },
      { to: 'no-such-channel', date: '2026-11-23', channel: 'Display', change: -0.3 },
    ]);
    await expect(slack.write(batch, { signal })).rejects.toBeInstanceOf(RetryableError);
    expect(await state.get('dedupe:2026-11-23:Email')).toBeUndefined();
    const second = await slack.write({ ...batch, attempt: 2 }, { signal }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((second as { failed?: number[] }).failed).toEqual([1]);
    expect(await state.get('dedupe:2026-11-23:Email')).toBeDefined();
    expect(await state.get('dedupe:2026-11-23:Display')).toBeUndefined();
    expect(texts(channel.id)).toEqual(['Email fell -0.3 on 2026-11-23']);
  });

  it('an unreachable state store fails the batch as retryable before anything is posted', async () => {
    const { channel, config } = setup();
    const down: PluginStateStore = {
      get: async () => {
        throw new Error('connection refused');
      },
      set: async () => {
        throw new Error('connection refused');
      },
      delete: async () => {
        throw new Error('connection refused');
      },
      setIfAbsent: async () => {
        throw new Error('connection refused');
      },
    };
    const slack = createSlackDestination(config, createPluginContext({ state: down }));
    const err = await slack
      .write(makeBatch([{ date: '2026-11-23', channel: 'Email', change: -0.3 }]), { signal })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(
      /(delivery ledger|dedupe): cannot read the plugin state \(connection refused\)/,
    );
    expect(texts(channel.id)).toEqual([]);
  });

  it('a key that cannot be written after the post is logged, and the message still counts as delivered once', async () => {
    const { channel, config } = setup();
    const memory = createMemoryPluginState();
    const readOnly: PluginStateStore = {
      ...memory,
      set: async () => {
        throw new Error('disk full');
      },
    };
    const { logger, lines } = warnings();
    const slack = createSlackDestination(config, createPluginContext({ state: readOnly, logger }));
    const batch = makeBatch([{ date: '2026-11-23', channel: 'Email', change: -0.3 }]);
    await slack.write(batch, { signal });
    await slack.write({ ...batch, attempt: 2 }, { signal });
    expect(texts(channel.id)).toHaveLength(1);
    expect(lines).toEqual([
      'could not remember the posted dedupe key; a later run may post this message again',
      'could not remember a posted message in the store; a take-over or replay of its batch may post it again',
    ]);
  });

  it('a take-over (a new instance on the same store, the same record keys) posts nothing twice, without a dedupe key configured', async () => {
    // Issue 18: the router gives a take-over's repeat the same record keys; a partial retry changes batch id and index only.
    const { channel, config } = setup({ dedupe: undefined, text: 'record {{ record.channel }}' });
    const state = createMemoryPluginState();
    const recordKeys = [
      'daily-slack-run3-3f9c0a21be-r000001',
      'daily-slack-run3-3f9c0a21be-r000002',
    ];
    const batch = makeBatch(
      [
        { date: '2026-11-23', channel: 'Email', change: -0.3 },
        { date: '2026-11-23', channel: 'Paid', change: -0.4 },
      ],
      { id: 'daily-slack-run3-3f9c0a21be-000001', recordKeys },
    );
    await createSlackDestination(config, createPluginContext({ state })).write(batch, { signal });
    const again = createSlackDestination(config, createPluginContext({ state }));
    await again.write(batch, { signal });
    await again.write(
      {
        ...batch,
        id: `${batch.id}-r2`,
        records: [batch.records[1]!],
        recordKeys: [recordKeys[1]!],
      },
      { signal },
    );
    expect(texts(channel.id)).toHaveLength(2);
  });

  it('an empty key is never deduplicated', async () => {
    const { channel, config } = setup({ dedupe: { key: '{{ record.alert_id | default: "" }}' } });
    const slack = createSlackDestination(
      config,
      createPluginContext({ state: createMemoryPluginState() }),
    );
    const alert = { date: '2026-11-23', channel: 'Email', change: -0.3 };
    await slack.write(makeBatch([alert, alert]), { signal });
    expect(texts(channel.id)).toHaveLength(2);
  });

  it('without ctx.state, the memory of one instance still dedupes its later batches (but not a new instance)', async () => {
    const { channel, config } = setup();
    const alert = { date: '2026-11-23', channel: 'Email', change: -0.3 };
    const slack = createSlackDestination(config, createPluginContext());
    await slack.write(makeBatch([alert], { id: 'a' }), { signal });
    await slack.write(makeBatch([alert], { id: 'b' }), { signal });
    expect(texts(channel.id)).toHaveLength(1);
    await createSlackDestination(config, createPluginContext()).write(
      makeBatch([alert], { id: 'c' }),
      { signal },
    );
    expect(texts(channel.id)).toHaveLength(2);
  });

  it('digest mode dedupes whole digests by a key over the batch', async () => {
    const { channel, config } = setup({
      mode: 'digest',
      text: '{{ count }} drops on {{ records[0].date }}',
      dedupe: { key: 'digest:{{ records[0].date }}' },
    });
    const state = createMemoryPluginState();
    const rows = [{ date: '2026-11-23', channel: 'Email', change: -0.3 }];
    await createSlackDestination(config, createPluginContext({ state })).write(
      makeBatch(rows, { id: 'r1' }),
      { signal },
    );
    await createSlackDestination(config, createPluginContext({ state })).write(
      makeBatch(rows, { id: 'r2' }),
      { signal },
    );
    expect(texts(channel.id)).toEqual(['1 drops on 2026-11-23']);
  });

  it('validates the key template at config time, naming dedupe.key', () => {
    const base = { token: 'xoxb-1', channel: '#a', text: 'x' };
    expect(() =>
      parseConfig(slackConfigSchema, { ...base, dedupe: { key: '{{ record.date | nope }}' } }),
    ).toThrow(ConfigError);
    expect(() =>
      parseConfig(slackConfigSchema, { ...base, dedupe: { key: '{{ records.size }}' } }),
    ).toThrow(/dedupe\.key/);
    expect(() => parseConfig(slackConfigSchema, { ...base, dedupe: { key: 'fixed' } })).toThrow(
      /dedupe\.key.*must depend on the record/,
    );
    expect(
      parseConfig(slackConfigSchema, { ...base, dedupe: { key: '{{ record.id }}' } }).dedupe,
    ).toEqual({ key: '{{ record.id }}', ttlHours: 72, maxKeys: 100_000 });
  });
});

describe('slack threads in the persistent plugin state', () => {
  it('"resolved" replies under "fired" posted by another instance (a restart), through ctx.state', async () => {
    const { channel, config } = setup({
      text: '{{ record.alert }} {{ record.state }}',
      thread: { key: '{{ record.alert }}' },
      dedupe: undefined,
    });
    const state = createMemoryPluginState();
    await createSlackDestination(config, createPluginContext({ state })).write(
      makeBatch([{ alert: 'disk', state: 'fired' }]),
      { signal },
    );
    await createSlackDestination(config, createPluginContext({ state })).write(
      makeBatch([{ alert: 'disk', state: 'resolved' }]),
      { signal },
    );
    const [fired, resolved] = fake.messagesIn(channel.id);
    expect(resolved?.threadTs).toBe(fired?.ts);
    expect(await state.get(`thread:#${channel.name}:disk`)).toBe(fired?.ts);
  });

  it('forgets a thread after thread.ttlHours', async () => {
    let now = Date.parse('2026-11-24T08:00:00Z');
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const state = createMemoryPluginState({ clock });
    const { channel, config } = setup({
      text: '{{ record.state }}',
      thread: { key: '{{ record.alert }}', ttlHours: 1 },
      dedupe: undefined,
    });
    const slack = createSlackDestination(config, createPluginContext({ state, clock }));
    await slack.write(makeBatch([{ alert: 'disk', state: 'fired' }]), { signal });
    now += 3_600_000;
    await slack.write(makeBatch([{ alert: 'disk', state: 'fired again' }]), { signal });
    expect(fake.messagesIn(channel.id).map((m) => m.threadTs)).toEqual([undefined, undefined]);
  });
});
