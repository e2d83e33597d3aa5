import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createPluginContext,
  parseConfig,
  type Clock,
  type SluiceRecord,
} from '@sluice/core';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeBatch, startSlackFake, type SlackFake } from '@sluice/testing';
import { startTcpProxy } from '@sluice/testing/fakes';
import { createSlackDestination } from './destination.js';
import { slackDestination } from './plugin.js';
import { slackConfigSchema } from './config.js';
import type { SlackThreadStore } from './thread-store.js';

let fake: SlackFake;
let sequence = 0;
const signal = new AbortController().signal;

beforeAll(async () => {
  fake = await startSlackFake();
});
afterAll(() => fake.close());
beforeEach(() => fake.clearFaults());

/** A fresh channel and a parsed config posting to it. */
function setup(extra: Record<string, unknown> = {}) {
  const channel = fake.addChannel({ name: `t-${++sequence}` });
  const config = parseConfig(slackConfigSchema, {
    token: fake.token,
    apiUrl: fake.url,
    ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
    channel: `#${channel.name}`,
    text: '{{ record.msg }}',
    pacingMs: 0,
    ...extra,
  });
  return { channel, config };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe('slack destination on the wire', () => {
  it('posts form-encoded chat.postMessage calls with a Bearer token and blocks as a JSON string', async () => {
    const { channel, config } = setup({
      blocks:
        '[{"type":"section","text":{"type":"mrkdwn","text":"*{{ record.msg }}* ({{ batch.pipeline }} #{{ index }})"}}]',
      username: 'Sluice',
      iconEmoji: ':bell:',
    });
    const slack = createSlackDestination(config, createPluginContext());
    await slack.write(makeBatch([{ msg: 'first "quoted"\nline' }]), { signal });
    const request = fake.requests.at(-1)!;
    expect(request.method).toBe('chat.postMessage');
    expect(request.encoding).toBe('form');
    expect(request.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request.token).toBe(fake.token);
    expect(typeof request.args.blocks).toBe('string');
    expect(JSON.parse(request.args.blocks as string)).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '*first "quoted"\nline* (contract #0)' } },
    ]);
    expect(request.args).toMatchObject({
      username: 'Sluice',
      icon_emoji: ':bell:',
      unfurl_links: 'false',
    });
    const [message] = fake.messagesIn(channel.id);
    expect(message?.text).toBe('first "quoted"\nline');
  });

  it('escapes record values so they cannot mention @channel or break the Block Kit JSON', async () => {
    const { channel, config } = setup({
      blocks: '[{"type":"section","text":{"type":"mrkdwn","text":"{{ record.msg }}"}}]',
    });
    const slack = createSlackDestination(config, createPluginContext());
    await slack.write(makeBatch([{ msg: '<!channel> & "friends" \\ }]' }]), { signal });
    const [message] = fake.messagesIn(channel.id);
    expect(message?.text).toBe('&lt;!channel&gt; &amp; "friends" \\ }]');
    expect(message?.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '&lt;!channel&gt; &amp; "friends" \\ }]' } },
    ]);
  });

  it('posts one digest per batch over all records', async () => {
    const { channel, config } = setup({
      mode: 'digest',
      text: '{{ count }} channels fell: {% for r in records %}{{ r.channel }} {{ r.change }}%{% unless forloop.last %}, {% endunless %}{% endfor %}',
    });
    const slack = createSlackDestination(config, createPluginContext());
    await slack.write(
      makeBatch([
        { channel: 'email', change: -25 },
        { channel: 'paid', change: -31 },
      ]),
      { signal },
    );
    expect(fake.messagesIn(channel.id).map((m) => m.text)).toEqual([
      '2 channels fell: email -25%, paid -31%',
    ]);
  });
});

describe('slack destination: errors', () => {
  it('maps a 429 to a RetryableError carrying Retry-After', async () => {
    const { config } = setup();
    fake.inject({ method: 'chat.postMessage', status: 429, retryAfterSeconds: 7 });
    const slack = createSlackDestination(config, createPluginContext());
    const err = await failureOf(slack.write(makeBatch([{ msg: 'a' }, { msg: 'b' }]), { signal }));
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(7000);
  });

  it.each(['invalid_auth', 'account_inactive', 'channel_not_found', 'not_in_channel'])(
    '%s for a configured channel fails the batch as fatal',
    async (code) => {
      const { config } = setup();
      fake.inject({ method: 'chat.postMessage', error: code, times: Infinity });
      const slack = createSlackDestination(config, createPluginContext());
      const err = await failureOf(slack.write(makeBatch([{ msg: 'a' }, { msg: 'b' }]), { signal }));
      expect(err).toBeInstanceOf(FatalError);
      expect((err as FatalError).details).toEqual({ slackError: code });
      expect(fake.requests.filter((r) => r.error === code)).toHaveLength(1); // stopped after the first
    },
  );

  it('a wrong token is invalid_auth → FatalError, and the token never appears in the error', async () => {
    const { config } = setup();
    const slack = createSlackDestination(
      { ...config, token: 'xoxb-wrong-token-123' },
      createPluginContext(),
    );
    const err = await failureOf(slack.write(makeBatch([{ msg: 'a' }]), { signal }));
    expect(err).toBeInstanceOf(FatalError);
    expect((err as Error).message).toContain('invalid_auth');
    expect((err as Error).message).not.toContain('xoxb-wrong-token-123');
  });

  it('channels from records: unknown, invalid or missing ones fail only their records', async () => {
    const good = fake.addChannel({ name: `t-${++sequence}` });
    fake.addChannel({ name: `t-outside-${sequence}`, member: false });
    const config = parseConfig(slackConfigSchema, {
      token: fake.token,
      apiUrl: fake.url,
      ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
      channel: '{{ record.channel }}',
      text: '{{ record.msg }}',
      pacingMs: 0,
    });
    const slack = createSlackDestination(config, createPluginContext());
    const records: SluiceRecord[] = [
      { channel: good.name, msg: 'ok' },
      { channel: 'no-such-channel', msg: 'x' },
      { channel: 'Not A Channel', msg: 'x' },
      { msg: 'no channel at all' },
      { channel: `t-outside-${sequence}`, msg: 'x' },
      { channel: good.id, msg: 'ok by id' },
    ];
    const err = await failureOf(slack.write(makeBatch(records), { signal }));
    expect(err).toBeInstanceOf(PartialBatchError);
    const failures = (err as PartialBatchError).failures;
    expect(failures.map((f) => f.index)).toEqual([1, 2, 3, 4]);
    for (const f of failures) expect(f.error).toBeInstanceOf(FatalError);
    expect(failures[0]!.error.message).toContain('channel_not_found');
    expect(failures[1]!.error.message).toContain('"Not A Channel" is not a channel id');
    expect(failures[2]!.error.message).toBe('template channel: variable record.channel is missing');
    expect(failures[3]!.error.message).toContain('not_in_channel');
    expect(fake.messagesIn(good.id).map((m) => m.text)).toEqual(['ok', 'ok by id']);
  });

  it('template errors name the template and the missing variable', async () => {
    const { config } = setup({ text: 'User {{ record.user.name }} signed up' });
    const slack = createSlackDestination(config, createPluginContext());
    const err = await failureOf(
      slack.write(makeBatch([{ user: { name: 'ada' } }, { user: {} }]), { signal }),
    );
    expect((err as PartialBatchError).failed).toEqual([1]);
    const failure = (err as PartialBatchError).failures[0]!.error as FatalError;
    expect(failure.message).toBe('template text: variable record.user.name is missing');
    expect(failure.details).toEqual({ field: 'text', variable: 'record.user.name' });
  });

  it('blocks that do not render to a JSON array fail their record', async () => {
    const { config } = setup({
      blocks: '{% if record.list %}[]{% else %}{"type":"section"}{% endif %}',
    });
    const slack = createSlackDestination(config, createPluginContext());
    const err = await failureOf(
      slack.write(makeBatch([{ msg: 'a', list: true }, { msg: 'b' }]), { signal }),
    );
    expect((err as PartialBatchError).failed).toEqual([1]);
    expect((err as PartialBatchError).failures[0]!.error.message).toBe(
      'template blocks: must render to a JSON array of blocks',
    );
  });

  it('network errors are retryable', async () => {
    const { config } = setup();
    fake.inject({ method: 'chat.postMessage', dropConnection: true });
    const slack = createSlackDestination(config, createPluginContext());
    const err = await failureOf(slack.write(makeBatch([{ msg: 'a' }]), { signal }));
    expect(err).toBeInstanceOf(RetryableError);
  });
});

describe('slack destination: retries and threads', () => {
  it('a retried batch skips the messages already posted (no duplicates within the instance)', async () => {
    const { channel, config } = setup();
    let calls = 0;
    fake.inject({
      method: 'chat.postMessage',
      status: 429,
      retryAfterSeconds: 0,
      match: (r) => r.args.channel === config.channel && ++calls === 3,
    });
    const slack = createSlackDestination(config, createPluginContext());
    const batch = makeBatch([{ msg: 'a' }, { msg: 'b' }, { msg: 'c' }, { msg: 'd' }]);
    const err = await failureOf(slack.write(batch, { signal }));
    expect(err).toBeInstanceOf(PartialBatchError);
    expect((err as PartialBatchError).failed).toEqual([2, 3]);
    for (const f of (err as PartialBatchError).failures)
      expect(f.error).toBeInstanceOf(RetryableError);
    await slack.write({ ...batch, attempt: 2 }, { signal });
    expect(fake.messagesIn(channel.id).map((m) => m.text)).toEqual(['a', 'b', 'c', 'd']);
    await slack.write({ ...batch, attempt: 3 }, { signal });
    expect(fake.messagesIn(channel.id)).toHaveLength(4);
  });

  it('"resolved" replies in the thread of "fired" for the same key, across batches', async () => {
    const { channel, config } = setup({
      text: '{{ record.alert }} {{ record.state }}',
      thread: { key: '{{ record.alert }}' },
    });
    const slack = createSlackDestination(config, createPluginContext());
    await slack.write(
      makeBatch([
        { alert: 'disk', state: 'fired' },
        { alert: 'cpu', state: 'fired' },
      ]),
      { signal },
    );
    await slack.write(
      makeBatch([
        { alert: 'disk', state: 'resolved' },
        { alert: 'cpu', state: 'resolved' },
      ]),
      { signal },
    );
    const [diskFired, cpuFired, diskResolved, cpuResolved] = fake.messagesIn(channel.id);
    expect(diskFired?.threadTs).toBeUndefined();
    expect(cpuFired?.threadTs).toBeUndefined();
    expect(diskResolved?.threadTs).toBe(diskFired?.ts);
    expect(cpuResolved?.threadTs).toBe(cpuFired?.ts);
  });

  it('an injected thread store keeps threads across instances (e.g. a server restart)', async () => {
    const { channel, config } = setup({
      text: '{{ record.state }}',
      thread: { key: '{{ record.alert }}', broadcast: true },
    });
    const saved = new Map<string, string>();
    const store: SlackThreadStore = {
      get: async (k) => saved.get(k),
      set: async (k, ts) => void saved.set(k, ts),
    };
    const first = createSlackDestination(config, createPluginContext(), { threadStore: store });
    await first.write(makeBatch([{ alert: 'disk', state: 'fired' }]), { signal });
    await first.close?.();
    const second = createSlackDestination(config, createPluginContext(), { threadStore: store });
    await second.write(makeBatch([{ alert: 'disk', state: 'resolved' }]), { signal });
    const [fired, resolved] = fake.messagesIn(channel.id);
    expect([...saved.keys()]).toEqual([`${config.channel}:disk`]);
    expect(resolved?.threadTs).toBe(fired?.ts);
    expect(resolved?.args.reply_broadcast).toBe('true');
  });

  it('paces messages to about one per second per channel with the context clock', async () => {
    let now = 1_000_000;
    const sleeps: number[] = [];
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => void (sleeps.push(ms), (now += ms)),
    };
    const other = fake.addChannel({ name: `t-other-${sequence}` });
    const { channel, config } = setup({ channel: '{{ record.to }}', pacingMs: 1000 });
    const slack = createSlackDestination(config, createPluginContext({ clock }));
    await slack.write(
      makeBatch([
        { to: channel.name, msg: '1' },
        { to: other.name, msg: 'x' },
        { to: channel.name, msg: '2' },
        { to: channel.name, msg: '3' },
      ]),
      { signal },
    );
    expect(sleeps).toEqual([1000, 1000]);
    expect(fake.messagesIn(channel.id).map((m) => m.text)).toEqual(['1', '2', '3']);
  });

  it('with real pacing, a rate-limiting Slack sees no 429', async () => {
    const strict = await startSlackFake({
      channels: [{ name: 'paced' }],
      rateLimit: { perChannelIntervalMs: 150 },
    });
    try {
      const config = parseConfig(slackConfigSchema, {
        token: strict.token,
        apiUrl: strict.url,
        ssrf: { allow: ['127.0.0.1'] },
        channel: '#paced',
        text: '{{ record.msg }}',
        pacingMs: 200,
      });
      const slack = createSlackDestination(config, createPluginContext());
      await slack.write(makeBatch([{ msg: '1' }, { msg: '2' }, { msg: '3' }]), { signal });
      expect(strict.requests.map((r) => r.status)).toEqual([200, 200, 200]);
    } finally {
      await strict.close();
    }
  });
});

describe('slack destination: check()', () => {
  it('reports the workspace when the token works', async () => {
    const { config } = setup();
    const slack = await slackDestination.create(config, createPluginContext());
    await expect(slack.check!()).resolves.toMatchObject({
      ok: true,
      details: { team: 'Sluice Tests' },
    });
  });

  it('tells to invite the app when it is not a member of the configured channel id', async () => {
    const outside = fake.addChannel({ name: `t-closed-${++sequence}`, member: false });
    const config = parseConfig(slackConfigSchema, {
      token: fake.token,
      apiUrl: fake.url,
      ssrf: { allow: ['127.0.0.1'] },
      channel: outside.id,
      text: 'x',
    });
    const result = await createSlackDestination(config, createPluginContext()).check!();
    expect(result.ok).toBe(false);
    expect(result.message).toContain('/invite');
  });

  it('fails on a bad token without leaking it', async () => {
    const { config } = setup();
    const result = await createSlackDestination(
      { ...config, token: 'xoxb-bad-secret' },
      createPluginContext(),
    ).check!();
    expect(result).toMatchObject({ ok: false });
    expect(result.message).toContain('invalid_auth');
    expect(result.message).not.toContain('xoxb-bad-secret');
  });
});

describe('slack destination: outgoing-connection guard on apiUrl', () => {
  const post = (apiUrl: string, ssrf?: object) => {
    const channel = fake.addChannel({ name: `t-guard-${++sequence}` });
    const config = parseConfig(slackConfigSchema, {
      token: fake.token,
      apiUrl,
      ...(ssrf ? { ssrf } : {}),
      channel: `#${channel.name}`,
      text: '{{ record.msg }}',
      pacingMs: 0,
    });
    const slack = createSlackDestination(config, createPluginContext());
    return { slack, write: () => failureOf(slack.write(makeBatch([{ msg: 'hi' }]), { signal })) };
  };

  it('refuses loopback and metadata addresses without opt-in: coded error, no TCP connection; connects with it', async () => {
    // Listens on every local address in front of the fake, counting the connections it accepts.
    const proxy = await startTcpProxy(Number(new URL(fake.url).port), '127.0.0.1', {
      listenHost: '::',
    });
    try {
      const posted = fake.requests.length;
      for (const host of [
        '127.0.0.1',
        'localhost',
        '[::1]',
        '[::ffff:127.0.0.1]',
        '[::127.0.0.1]',
        '2130706433',
        '169.254.169.254',
      ]) {
        const { slack, write } = post(`http://${host}:${proxy.port}/api/`);
        const err = await write();
        expect(err, host).toBeInstanceOf(FatalError);
        expect(err, host).toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
          details: { field: 'apiUrl' },
        });
        expect((err as Error).message, host).toMatch(
          /^apiUrl: refusing to connect to .*(loopback|linkLocal) addresses are blocked/,
        );
        const checked = await slack.check!();
        expect(checked.ok, host).toBe(false);
        expect(checked.message, host).toMatch(/refusing to connect/);
        await slack.close?.();
      }
      expect(proxy.accepted).toBe(0);
      expect(fake.requests.length).toBe(posted);

      const { slack, write } = post(`http://127.0.0.1:${proxy.port}/api/`, {
        allow: ['127.0.0.1'],
      });
      expect(await write()).toBeUndefined();
      expect(proxy.accepted).toBeGreaterThan(0);
      expect(fake.requests.at(-1)!.method).toBe('chat.postMessage');
      await slack.close?.();
    } finally {
      await proxy.close();
    }
  });

  it('an allowed apiUrl cannot redirect the call to a blocked address', async () => {
    const blockedTarget = await startTcpProxy(Number(new URL(fake.url).port), '127.0.0.1', {
      listenHost: '::1',
    });
    const bouncer: Server = createServer((req, res) => {
      res.writeHead(307, { location: `http://[::1]:${blockedTarget.port}${req.url}` }).end();
    });
    await new Promise<void>((resolve) => bouncer.listen(0, '127.0.0.1', resolve));
    try {
      const before = fake.requests.length;
      const { slack, write } = post(
        `http://127.0.0.1:${(bouncer.address() as AddressInfo).port}/api/`,
        { allow: ['127.0.0.1'] },
      );
      // The SDK refuses redirects itself (redirect: 'error'); a hop would meet the guard anyway.
      expect(await write()).toBeInstanceOf(Error);
      expect(blockedTarget.accepted).toBe(0);
      expect(fake.requests.length).toBe(before);
      await slack.close?.();
    } finally {
      await new Promise<void>((resolve) => bouncer.close(() => resolve()));
      await blockedTarget.close();
    }
  });
});
