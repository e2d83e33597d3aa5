/**
 * A wire-compatible fake of the Slack Web API for tests, driven through the official
 * `@slack/web-api` client:
 *
 * ```ts
 * const fake = await startSlackFake({ channels: [{ name: 'alerts' }] });
 * const client = new WebClient(fake.token, {
 *   slackApiUrl: fake.url,            // "http://127.0.0.1:PORT/api/"
 *   retryConfig: { retries: 0 },      // the SDK's default policy waits up to ~30 min
 *   rejectRateLimitedCalls: true,     // surface 429s instead of sleeping inside the SDK
 * });
 * await client.chat.postMessage({ channel: '#alerts', text: 'disk full' });
 * fake.messagesIn('alerts'); // [{ text: 'disk full', ts: '1764057600.000001', ... }]
 * await fake.close();
 * ```
 *
 * It speaks what the SDK sends: `POST /api/<method>` with an
 * `application/x-www-form-urlencoded` body (structured arguments such as `blocks` arrive as JSON
 * strings; JSON bodies are accepted too), the token in `Authorization: Bearer`. It answers the
 * way Slack does: HTTP 200 with `{ ok: true, ... }` or `{ ok: false, error }`, and HTTP 429 with
 * `Retry-After: <seconds>` and `{ ok: false, error: 'ratelimited' }` when rate limited.
 *
 * Methods: `chat.postMessage` (channel by id, `#name` or `name`; `text`, `blocks`, `thread_ts`,
 * `reply_broadcast`, `username`, `icon_emoji`, `icon_url`, `unfurl_links`, `unfurl_media`,
 * `mrkdwn`, `metadata`), `auth.test`, `conversations.info` and `api.test`. Errors it produces
 * by itself: `not_authed`, `invalid_auth`, `channel_not_found`, `not_in_channel`, `is_archived`,
 * `no_text`, `invalid_blocks_format`, `invalid_blocks`, `msg_too_long`, `unknown_method`, `invalid_arguments`. Any other Slack error (`account_inactive`,
 * `ratelimited`, `internal_error`, ...), an HTTP status, a delay or a dropped connection can be
 * injected with {@link SlackFake.inject}. With `rateLimit`, posting to one channel faster than
 * the interval gets a real 429, which lets tests check a client's pacing.
 *
 * A `thread_ts` is recorded as given and not checked against earlier messages (how Slack treats
 * an unknown `thread_ts` is not verified here).
 *
 * Every request is recorded ({@link SlackFake.requests}) and every accepted message is kept
 * ({@link SlackFake.messages}) for assertions.
 *
 * @packageDocumentation
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { booleanArgument, parseArguments, readBody, structuredArgument } from './slack-body.js';

export { SLACK_FAKE_MAX_BODY_BYTES } from './slack-body.js';

/** A channel the fake knows. */
export interface SlackFakeChannelInit {
  /** Name without `#`, e.g. `alerts`. */
  name: string;
  /** Channel id (default: generated, `C` + digits). */
  id?: string;
  /** Whether the bot is a member (default true; false makes posts fail with `not_in_channel`). */
  member?: boolean;
  /** Archived channels refuse posts with `is_archived`. */
  archived?: boolean;
  /** A private channel (`is_private`, id starting with `G` when generated). */
  private?: boolean;
}

/** A channel as the fake holds it. */
export interface SlackFakeChannel {
  readonly id: string;
  readonly name: string;
  member: boolean;
  archived: boolean;
  readonly private: boolean;
}

/** Options of {@link startSlackFake}. */
export interface SlackFakeOptions {
  /** The valid bot token (default `xoxb-sluice-fake-token`). */
  token?: string;
  /** Channels that exist from the start (default: `general`). */
  channels?: SlackFakeChannelInit[];
  /** Team (workspace) reported by `auth.test`. */
  team?: { id: string; name: string; domain: string };
  /**
   * Enforces Slack's "about one message per second per channel": a `chat.postMessage` to a
   * channel less than `perChannelIntervalMs` after the previous accepted one gets an HTTP 429.
   */
  rateLimit?: { perChannelIntervalMs: number; retryAfterSeconds?: number };
}

/** A failure or delay to apply to upcoming matching requests. */
export interface SlackFakeFault {
  /** Only this Web API method (e.g. `chat.postMessage`); default every method. */
  method?: string;
  /** Answer HTTP 200 `{ ok: false, error }` with this Slack error code, e.g. `account_inactive`. */
  error?: string;
  /** Answer with this HTTP status instead (429 adds `Retry-After` and `error: 'ratelimited'`). */
  status?: 429 | 500 | 502 | 503 | 504;
  /** `Retry-After` seconds of a 429 (default 1). */
  retryAfterSeconds?: number;
  /** Destroy the connection without answering (a network error for the client). */
  dropConnection?: boolean;
  /** Wait this long before answering (or before applying the fault). */
  delayMs?: number;
  /** Number of matching requests to affect (default 1; `Infinity` until removed). */
  times?: number;
  /** Only requests for which this returns true are affected. */
  match?: (request: SlackFakeRequest) => boolean;
}

/** One request the fake received. */
export interface SlackFakeRequest {
  /** Web API method, e.g. `chat.postMessage`. */
  method: string;
  httpMethod: string;
  contentType: string | undefined;
  encoding: 'form' | 'json' | 'none';
  /** Arguments as sent (form values are strings: `blocks` is the JSON text). */
  args: Record<string, unknown>;
  /** The token from `Authorization: Bearer` or the `token` argument. */
  token: string | undefined;
  /** Arrival time (epoch ms). */
  at: number;
  /** HTTP status answered (0 when the connection was dropped). */
  status: number;
  /** Slack error code when the answer was `ok: false`. */
  error?: string;
}

/** A message accepted by `chat.postMessage`. */
export interface SlackFakeMessage {
  /** Channel id. */
  channel: string;
  channelName: string;
  ts: string;
  /** Set when the message is a reply in a thread. */
  threadTs?: string;
  text?: string;
  /** Parsed Block Kit blocks. */
  blocks?: unknown[];
  /** Every argument as sent. */
  args: Record<string, unknown>;
  /** Arrival time (epoch ms). */
  at: number;
}

/** A running Slack Web API fake. */
export interface SlackFake {
  /** Base URL for the SDK's `slackApiUrl`, with the trailing `/api/`. */
  readonly url: string;
  /** The valid bot token. */
  readonly token: string;
  /** Every request, in arrival order. */
  readonly requests: SlackFakeRequest[];
  /** Every accepted message, in order. */
  readonly messages: SlackFakeMessage[];
  /** Accepted messages of one channel (by id, `#name` or `name`). */
  messagesIn(channel: string): SlackFakeMessage[];
  /** Adds a channel (or replaces one of the same name); returns it. */
  addChannel(channel: SlackFakeChannelInit): SlackFakeChannel;
  /** A channel by id, `#name` or `name`. */
  channel(channel: string): SlackFakeChannel | undefined;
  /** Queues a fault; returns a function that removes it. */
  inject(fault: SlackFakeFault): () => void;
  /** Removes every queued fault. */
  clearFaults(): void;
  /** Forgets requests and messages (channels stay). */
  reset(): void;
  close(): Promise<void>;
}

const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;

class SlackCallError extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

interface QueuedFault extends SlackFakeFault {
  remaining: number;
}

/**
 * Starts the fake on 127.0.0.1 on an ephemeral port.
 *
 * @example
 * ```ts
 * const fake = await startSlackFake({ channels: [{ name: 'alerts' }, { name: 'secret', member: false }] });
 * fake.inject({ method: 'chat.postMessage', status: 429, retryAfterSeconds: 2 });
 * // ... the next post gets HTTP 429 with Retry-After: 2
 * await fake.close();
 * ```
 */
export async function startSlackFake(options: SlackFakeOptions = {}): Promise<SlackFake> {
  const token = options.token ?? 'xoxb-sluice-fake-token';
  const team = options.team ?? { id: 'T0SLUICE', name: 'Sluice Tests', domain: 'sluice-tests' };
  const botUser = 'U0SLUICEBOT';
  const botId = 'B0SLUICEBOT';
  const channels = new Map<string, SlackFakeChannel>();
  const requests: SlackFakeRequest[] = [];
  const messages: SlackFakeMessage[] = [];
  const faults: QueuedFault[] = [];
  const lastPostAt = new Map<string, number>();
  let nextChannel = 1;
  let lastTsMicros = 0;

  const addChannel = (init: SlackFakeChannelInit): SlackFakeChannel => {
    const name = init.name.replace(/^#/, '');
    for (const [id, existing] of channels) if (existing.name === name) channels.delete(id);
    const id =
      init.id ??
      `${init.private ? 'G' : 'C'}${String(1_000_000_000 + nextChannel++).padStart(10, '0')}`;
    const channel: SlackFakeChannel = {
      id,
      name,
      member: init.member ?? true,
      archived: init.archived ?? false,
      private: init.private ?? false,
    };
    channels.set(id, channel);
    return channel;
  };
  for (const init of options.channels ?? [{ name: 'general' }]) addChannel(init);

  const findChannel = (ref: string): SlackFakeChannel | undefined => {
    const byId = channels.get(ref);
    if (byId) return byId;
    const name = ref.replace(/^#/, '');
    for (const channel of channels.values()) if (channel.name === name) return channel;
    return undefined;
  };

  const nextTs = (now: number): string => {
    lastTsMicros = Math.max(lastTsMicros + 1, now * 1000);
    return `${Math.floor(lastTsMicros / 1e6)}.${String(lastTsMicros % 1e6).padStart(6, '0')}`;
  };

  const postMessage = (args: Record<string, unknown>, at: number): Record<string, unknown> => {
    const ref = typeof args.channel === 'string' ? args.channel : '';
    if (ref === '') throw new SlackCallError('channel_not_found');
    const channel = findChannel(ref);
    if (!channel) throw new SlackCallError('channel_not_found');
    if (channel.archived) throw new SlackCallError('is_archived');
    if (!channel.member) throw new SlackCallError('not_in_channel');
    const text = typeof args.text === 'string' ? args.text : undefined;
    let blocks: unknown;
    try {
      blocks = structuredArgument(args.blocks);
    } catch {
      throw new SlackCallError('invalid_blocks_format');
    }
    if (blocks !== undefined) {
      if (!Array.isArray(blocks)) throw new SlackCallError('invalid_blocks_format');
      if (blocks.length > MAX_BLOCKS) throw new SlackCallError('invalid_blocks');
      for (const block of blocks) {
        if (
          block === null ||
          typeof block !== 'object' ||
          typeof (block as { type?: unknown }).type !== 'string'
        ) {
          throw new SlackCallError('invalid_blocks');
        }
      }
    }
    const hasAttachments = args.attachments !== undefined && args.attachments !== '';
    if ((text === undefined || text === '') && blocks === undefined && !hasAttachments)
      throw new SlackCallError('no_text');
    if (text !== undefined && text.length > MAX_TEXT) throw new SlackCallError('msg_too_long');
    const threadTs =
      typeof args.thread_ts === 'string' && args.thread_ts !== '' ? args.thread_ts : undefined;
    const ts = nextTs(at);
    const message: SlackFakeMessage = {
      channel: channel.id,
      channelName: channel.name,
      ts,
      ...(threadTs === undefined ? {} : { threadTs }),
      ...(text === undefined ? {} : { text }),
      ...(blocks === undefined ? {} : { blocks: blocks as unknown[] }),
      args,
      at,
    };
    messages.push(message);
    lastPostAt.set(channel.id, at);
    return {
      channel: channel.id,
      ts,
      message: {
        user: botUser,
        type: 'message',
        ts,
        bot_id: botId,
        app_id: 'A0SLUICE',
        text: text ?? '',
        team: team.id,
        ...(blocks === undefined ? {} : { blocks }),
        ...(threadTs === undefined ? {} : { thread_ts: threadTs, parent_user_id: botUser }),
        ...(booleanArgument(args.reply_broadcast) ? { subtype: 'thread_broadcast' } : {}),
      },
    };
  };

  const channelInfo = (args: Record<string, unknown>): Record<string, unknown> => {
    const ref = typeof args.channel === 'string' ? args.channel : '';
    const channel = channels.get(ref); // conversations.info takes ids only, like Slack
    if (!channel) throw new SlackCallError('channel_not_found');
    return {
      channel: {
        id: channel.id,
        name: channel.name,
        is_channel: !channel.private,
        is_group: false,
        is_im: false,
        is_private: channel.private,
        is_archived: channel.archived,
        is_member: channel.member,
        created: 1_700_000_000,
        creator: 'U0CREATOR',
      },
    };
  };

  const methods: Record<
    string,
    (args: Record<string, unknown>, at: number) => Record<string, unknown>
  > = {
    'api.test': (args) => ({ args }),
    'auth.test': () => ({
      url: `https://${team.domain}.slack.com/`,
      team: team.name,
      user: 'sluice-bot',
      team_id: team.id,
      user_id: botUser,
      bot_id: botId,
      is_enterprise_install: false,
    }),
    'chat.postMessage': postMessage,
    'conversations.info': channelInfo,
  };
  const tokenless = new Set(['api.test']);

  const takeFault = (request: SlackFakeRequest): QueuedFault | undefined => {
    for (const fault of faults) {
      if (fault.remaining <= 0) continue;
      if (fault.method !== undefined && fault.method !== request.method) continue;
      if (fault.match && !fault.match(request)) continue;
      fault.remaining -= 1;
      return fault;
    }
    return undefined;
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-slack-req-id': randomUUID(),
      'x-oauth-scopes': 'chat:write,chat:write.customize,channels:read,groups:read',
      'x-accepted-oauth-scopes': 'chat:write',
      ...headers,
    });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    const method = match?.[1] ?? '';
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      send(res, 413, { ok: false, error: 'request_too_large' });
      return;
    }
    const request: SlackFakeRequest = {
      method,
      httpMethod: req.method ?? 'GET',
      contentType: req.headers['content-type'],
      encoding: 'none',
      args: {},
      token: undefined,
      at,
      status: 200,
    };
    requests.push(request);
    const answer = (
      status: number,
      payload: Record<string, unknown>,
      headers?: Record<string, string>,
    ) => {
      request.status = status;
      if (payload.ok === false && typeof payload.error === 'string') request.error = payload.error;
      send(res, status, payload, headers);
    };
    try {
      const parsed = parseArguments(body, request.contentType, url.searchParams);
      request.args = parsed.args;
      request.encoding = parsed.encoding;
    } catch {
      answer(200, { ok: false, error: 'invalid_arguments' });
      return;
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    request.token =
      bearer ?? (typeof request.args.token === 'string' ? request.args.token : undefined);

    const fault = takeFault(request);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.dropConnection) {
      request.status = 0;
      req.socket.destroy();
      return;
    }
    if (fault?.status === 429) {
      answer(
        429,
        { ok: false, error: 'ratelimited' },
        { 'retry-after': String(fault.retryAfterSeconds ?? 1) },
      );
      return;
    }
    if (fault?.status !== undefined) {
      answer(fault.status, { ok: false, error: 'fatal_error' });
      return;
    }
    if (fault?.error !== undefined) {
      answer(200, { ok: false, error: fault.error });
      return;
    }
    const implementation = methods[method];
    if (!implementation) {
      answer(404, { ok: false, error: 'unknown_method' });
      return;
    }
    if (!tokenless.has(method)) {
      if (request.token === undefined) return answer(200, { ok: false, error: 'not_authed' });
      if (request.token !== token) return answer(200, { ok: false, error: 'invalid_auth' });
    }
    if (method === 'chat.postMessage' && options.rateLimit) {
      const channel =
        typeof request.args.channel === 'string' ? findChannel(request.args.channel) : undefined;
      const last = channel ? lastPostAt.get(channel.id) : undefined;
      if (last !== undefined && at - last < options.rateLimit.perChannelIntervalMs) {
        answer(
          429,
          { ok: false, error: 'ratelimited' },
          { 'retry-after': String(options.rateLimit.retryAfterSeconds ?? 1) },
        );
        return;
      }
    }
    try {
      answer(200, { ok: true, ...implementation(request.args, at) });
    } catch (err) {
      if (err instanceof SlackCallError) answer(200, { ok: false, error: err.error });
      else answer(500, { ok: false, error: 'internal_error' });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { ok: false, error: 'internal_error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}/api/`,
    token,
    requests,
    messages,
    messagesIn(channel) {
      const found = findChannel(channel);
      return found ? messages.filter((m) => m.channel === found.id) : [];
    },
    addChannel,
    channel: findChannel,
    inject(fault) {
      const queued: QueuedFault = { ...fault, remaining: fault.times ?? 1 };
      faults.push(queued);
      return () => {
        const at = faults.indexOf(queued);
        if (at >= 0) faults.splice(at, 1);
      };
    },
    clearFaults() {
      faults.length = 0;
    },
    reset() {
      requests.length = 0;
      messages.length = 0;
      lastPostAt.clear();
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
