import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackFake, type SlackFake } from './slack.js';

let fake: SlackFake;
beforeAll(async () => {
  fake = await startSlackFake({
    channels: [
      { name: 'alerts', id: 'C0ALERTS01' },
      { name: 'closed', member: false },
      { name: 'old', archived: true },
    ],
  });
});
afterAll(() => fake.close());

async function call(
  method: string,
  body: string | Record<string, unknown>,
  token: string | null = fake.token,
) {
  const json = typeof body !== 'string';
  const res = await fetch(`${fake.url}${method}`, {
    method: 'POST',
    headers: {
      'content-type': json
        ? 'application/json; charset=utf-8'
        : 'application/x-www-form-urlencoded',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: json ? JSON.stringify(body) : body,
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe('Slack Web API fake', () => {
  it('accepts form-encoded chat.postMessage with blocks as a JSON string and answers like Slack', async () => {
    const blocks = JSON.stringify([{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }]);
    const res = await call(
      'chat.postMessage',
      new URLSearchParams({ channel: '#alerts', text: 'hi', blocks }).toString(),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({
      ok: true,
      channel: 'C0ALERTS01',
      message: { type: 'message', text: 'hi', bot_id: expect.any(String) },
    });
    expect(res.body.ts).toMatch(/^\d+\.\d{6}$/);
    expect(fake.messagesIn('alerts').at(-1)).toMatchObject({
      text: 'hi',
      blocks: [{ type: 'section' }],
      ts: res.body.ts,
    });
  });

  it('accepts JSON bodies and replies in threads', async () => {
    const parent = await call('chat.postMessage', { channel: 'C0ALERTS01', text: 'fired' });
    const reply = await call('chat.postMessage', {
      channel: 'alerts',
      text: 'resolved',
      thread_ts: parent.body.ts,
    });
    expect(reply.body).toMatchObject({ ok: true, message: { thread_ts: parent.body.ts } });
    expect(fake.messagesIn('C0ALERTS01').at(-1)?.threadTs).toBe(parent.body.ts);
  });

  it.each([
    ['no token', { channel: 'alerts', text: 'x' }, 'none', 'not_authed'],
    ['a wrong token', { channel: 'alerts', text: 'x' }, 'wrong', 'invalid_auth'],
    ['an unknown channel', { channel: 'nope', text: 'x' }, 'valid', 'channel_not_found'],
    ['a channel the bot is not in', { channel: 'closed', text: 'x' }, 'valid', 'not_in_channel'],
    ['an archived channel', { channel: 'old', text: 'x' }, 'valid', 'is_archived'],
    ['no text and no blocks', { channel: 'alerts' }, 'valid', 'no_text'],
    [
      'blocks that are not JSON',
      { channel: 'alerts', text: 'x', blocks: '[{' },
      'valid',
      'invalid_blocks_format',
    ],
    [
      'blocks that are not an array',
      { channel: 'alerts', text: 'x', blocks: '{"type":"section"}' },
      'valid',
      'invalid_blocks_format',
    ],
    [
      'a block without type',
      { channel: 'alerts', text: 'x', blocks: '[{}]' },
      'valid',
      'invalid_blocks',
    ],
  ])('answers ok:false for %s', async (_name, args, token, error) => {
    const sent = token === 'none' ? null : token === 'wrong' ? 'xoxb-wrong' : fake.token;
    const res = await call(
      'chat.postMessage',
      new URLSearchParams(args as Record<string, string>).toString(),
      sent,
    );
    expect(res).toMatchObject({ status: 200, body: { ok: false, error } });
  });

  it('injects 429 with Retry-After, Slack errors and HTTP statuses, then recovers', async () => {
    const remove = fake.inject({
      method: 'chat.postMessage',
      status: 429,
      retryAfterSeconds: 3,
      times: Infinity,
    });
    const limited = await call('chat.postMessage', 'channel=alerts&text=x');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(limited.body).toEqual({ ok: false, error: 'ratelimited' });
    remove();
    fake.inject({ method: 'chat.postMessage', error: 'account_inactive' });
    expect((await call('chat.postMessage', 'channel=alerts&text=x')).body).toEqual({
      ok: false,
      error: 'account_inactive',
    });
    fake.inject({ status: 503 });
    expect((await call('auth.test', '')).status).toBe(503);
    expect((await call('chat.postMessage', 'channel=alerts&text=x')).body.ok).toBe(true);
  });

  it('serves auth.test and conversations.info (ids only)', async () => {
    expect((await call('auth.test', '')).body).toMatchObject({
      ok: true,
      team: 'Sluice Tests',
      bot_id: expect.any(String),
    });
    expect((await call('conversations.info', 'channel=C0ALERTS01')).body).toMatchObject({
      ok: true,
      channel: { name: 'alerts', is_member: true },
    });
    expect((await call('conversations.info', 'channel=alerts')).body).toEqual({
      ok: false,
      error: 'channel_not_found',
    });
    expect((await call('users.list', '')).body).toEqual({ ok: false, error: 'unknown_method' });
  });

  it('enforces a per-channel rate limit when asked', async () => {
    const limited = await startSlackFake({
      rateLimit: { perChannelIntervalMs: 60_000, retryAfterSeconds: 60 },
    });
    try {
      const post = () =>
        fetch(`${limited.url}chat.postMessage`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${limited.token}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'channel=general&text=x',
        });
      expect((await post()).status).toBe(200);
      const second = await post();
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toBe('60');
      expect(limited.requests.map((r) => [r.status, r.error ?? null])).toEqual([
        [200, null],
        [429, 'ratelimited'],
      ]);
    } finally {
      await limited.close();
    }
  });
});
