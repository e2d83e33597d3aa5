import { afterAll, beforeAll } from 'vitest';
import type { SluiceRecord } from '@sluice/core';
import { startSlackFake, testDestination, type SlackFake } from '@sluice/testing';
import { slackDestination } from './plugin.js';
import type { SlackConfig } from './config.js';

let fake: SlackFake;
let sequence = 0;
beforeAll(async () => {
  fake = await startSlackFake();
});
afterAll(() => fake.close());

/** Each contract test posts to its own channel; the message text is the record as JSON. */
function config(extra: Record<string, unknown> = {}) {
  const channel = fake.addChannel({ name: `contract-${++sequence}` });
  return {
    token: fake.token,
    apiUrl: fake.url,
    ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
    channel: `#${channel.name}`,
    text: '{{ record | json | raw }}',
    blocks:
      '[{"type":"section","text":{"type":"mrkdwn","text":"*{{ record.name }}* scored {{ record.score | default: 0 }}"}}]',
    pacingMs: 0,
    ...extra,
  };
}

const readBack = async (c: SlackConfig): Promise<SluiceRecord[]> =>
  fake.messagesIn(c.channel).flatMap((m) => {
    const parsed = JSON.parse(m.text ?? 'null') as SluiceRecord | SluiceRecord[];
    return Array.isArray(parsed) ? parsed : [parsed];
  });

const invalidConfigs = [
  { name: 'missing token', config: { channel: '#a', text: 'x' }, path: 'token' },
  {
    name: 'not a Slack token',
    config: { token: 'hunter2', channel: '#a', text: 'x' },
    path: 'token',
  },
  {
    name: 'channel with spaces',
    config: { token: 'xoxb-1', channel: 'Alerts Team', text: 'x' },
    path: 'channel',
  },
  {
    name: 'text with an unknown filter',
    config: { token: 'xoxb-1', channel: '#a', text: '{{ record.x | shout }}' },
    path: 'text',
  },
  {
    name: 'broken blocks template',
    config: { token: 'xoxb-1', channel: '#a', text: 'x', blocks: '[{% if %}]' },
    path: 'blocks',
  },
  {
    name: 'record in digest mode',
    config: { token: 'xoxb-1', channel: '#a', text: '{{ record.x }}', mode: 'digest' },
    path: 'text',
  },
  {
    name: 'records in record mode',
    config: { token: 'xoxb-1', channel: '#a', text: '{{ records.size }}' },
    path: 'text',
  },
  {
    name: 'thread key from a record in digest mode',
    config: {
      token: 'xoxb-1',
      channel: '#a',
      text: 'x',
      mode: 'digest',
      thread: { key: '{{ record.id }}' },
    },
    path: 'thread.key',
  },
  {
    name: 'dedupe key with a syntax error',
    config: { token: 'xoxb-1', channel: '#a', text: 'x', dedupe: { key: '{{ record.id ' } },
    path: 'dedupe.key',
  },
  {
    name: 'dedupe key that ignores the record',
    config: { token: 'xoxb-1', channel: '#a', text: 'x', dedupe: { key: 'daily' } },
    path: 'dedupe.key',
  },
  {
    name: 'dedupe ttl of zero hours',
    config: {
      token: 'xoxb-1',
      channel: '#a',
      text: 'x',
      dedupe: { key: '{{ record.id }}', ttlHours: 0 },
    },
    path: 'dedupe.ttlHours',
  },
  {
    name: 'unknown mode',
    config: { token: 'xoxb-1', channel: '#a', text: 'x', mode: 'bulk' },
    path: 'mode',
  },
  {
    name: 'typo in a key',
    config: { token: 'xoxb-1', channel: '#a', text: 'x', chanel: '#b' },
    path: 'chanel',
  },
];

testDestination<SlackConfig>({
  name: 'slack (one message per record)',
  definition: slackDestination,
  config: () => config(),
  readBack,
  invalidConfigs,
  transientFailure: {
    inject: (c) =>
      fake.inject({
        method: 'chat.postMessage',
        status: 429,
        retryAfterSeconds: 1,
        times: Infinity,
        match: (r) => r.args.channel === c.channel,
      }),
  },
  partialFailure: {
    records: [{ id: 1, name: 'a' }, { id: 2 }, { id: 3, name: 'c' }, { id: 4 }],
    failed: [1, 3],
  },
});

testDestination<SlackConfig>({
  name: 'slack (digest)',
  definition: slackDestination,
  config: () =>
    config({
      mode: 'digest',
      text: '{{ records | json | raw }}',
      blocks:
        '[{"type":"header","text":{"type":"plain_text","text":"{{ count }} rows of {{ batch.pipeline }}"}}]',
    }),
  readBack,
  invalidConfigs,
  transientFailure: {
    inject: (c) =>
      fake.inject({
        method: 'chat.postMessage',
        dropConnection: true,
        times: Infinity,
        match: (r) => r.args.channel === c.channel,
      }),
  },
});
