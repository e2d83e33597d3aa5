/**
 * The Slack destination's config schema (valibot): it validates, fills defaults, types the config
 * and is exported as JSON Schema for docs and editors. Templates are compiled here, so a syntax
 * error or an unknown filter is a `ConfigError` naming the field.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { ssrfOption } from '@sluice/core/net';
import {
  isStaticTemplate,
  templateReads,
  templateSchema,
  type OutputEscape,
} from '@sluice/core/template';
import { channelProblem } from './channel.js';
import { escapeBlockKitString, escapeSlackText } from './escape.js';

const template = (escape?: OutputEscape) => templateSchema({ escape });

const channelTemplate = v.pipe(
  template(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || !isStaticTemplate(dataset.value)) return;
    const problem = channelProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

const int = (min: number, max: number) =>
  v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

/**
 * Config of the `slack` destination.
 *
 * @example
 * ```ts
 * const config = v.parse(slackConfigSchema, {
 *   token: 'xoxb-123-456-abc',
 *   channel: '#alerts',
 *   text: ':rotating_light: {{ record.alert }} is {{ record.state }}',
 *   thread: { key: '{{ record.alert }}' },
 * });
 * ```
 */
export const slackConfigSchema = v.pipe(
  v.strictObject({
    /** Bot token (`xoxb-...`) with `chat:write`; put it in config as `${env:SLACK_TOKEN}`. */
    token: v.pipe(
      v.string(),
      v.regex(/^xox[a-z]-\S+$/, 'must be a Slack token (xoxb-..., xoxp-...)'),
      v.description(
        'Bot token (`xoxb-...`) with the `chat:write` scope; use a secret reference such as `${env:SLACK_BOT_TOKEN}`.',
      ),
      v.metadata({ examples: ['${env:SLACK_BOT_TOKEN}'] }),
    ),
    /** Web API base URL, for proxies and tests. */
    apiUrl: v.optional(
      v.pipe(
        v.string(),
        v.url('must be an absolute URL such as https://slack.com/api/'),
        v.regex(/^https?:\/\//, 'must be an http(s) URL'),
        v.description('Slack Web API base URL; changed only for proxies and tests.'),
        v.transform((url) => (url.endsWith('/') ? url : `${url}/`)),
      ),
      'https://slack.com/api/',
    ),
    /** Outgoing-connection guard for `apiUrl` (and anything the API points at): internal addresses are refused. */
    ssrf: ssrfOption,
    /** Channel id or `#name`; a template (e.g. `{{ record.channel }}`) to take it from the record. */
    channel: v.pipe(
      channelTemplate,
      v.description(
        'Channel id (`C0123ABCD`) or `#name`, or a template such as `{{ record.channel }}` to take it from the record.',
      ),
      v.metadata({ examples: ['#growth-alerts'] }),
    ),
    /** `record`: one message per record; `digest`: one message per batch (templates see `records`). */
    mode: v.optional(
      v.pipe(
        v.picklist(['record', 'digest'], 'must be record or digest'),
        v.description(
          '`record`: one message per record (templates see `record`); `digest`: one message per batch (templates see `records`).',
        ),
      ),
      'record',
    ),
    /** Message text (mrkdwn); the notification and fallback text when blocks are given. */
    text: v.pipe(
      template(escapeSlackText),
      v.description(
        'Message text (mrkdwn), a Liquid template; the notification and fallback text when `blocks` are given.',
      ),
      v.metadata({
        examples: [':warning: {{ record.channel }}: only {{ record.sessions }} sessions'],
      }),
    ),
    /** Block Kit template that renders to a JSON array of blocks. */
    blocks: v.optional(
      v.pipe(
        template(escapeBlockKitString),
        v.description(
          'Block Kit layout: a Liquid template that renders to a JSON array of blocks.',
        ),
      ),
    ),
    /** Threading: messages with the same rendered key reply in the thread of the first one. */
    thread: v.optional(
      v.pipe(
        v.strictObject({
          /** Thread key template, e.g. `{{ record.alert_id }}`; an empty result posts top-level. */
          key: v.pipe(
            template(),
            v.description('Thread key template; an empty result posts top-level.'),
            v.metadata({ examples: ['{{ record.alert_id }}'] }),
          ),
          /** Also show replies in the channel (`reply_broadcast`). */
          broadcast: v.optional(
            v.pipe(
              v.boolean(),
              v.description('Also show replies in the channel (`reply_broadcast`).'),
            ),
            false,
          ),
          /** Keys remembered by the built-in in-memory store (oldest forgotten first). */
          maxKeys: v.optional(
            v.pipe(
              int(1, 1_000_000),
              v.description(
                'Thread keys remembered in memory when the engine gives no persistent state (oldest forgotten first).',
              ),
            ),
            10_000,
          ),
          /** How long a thread is remembered in the engine's persistent state. */
          ttlHours: v.optional(
            v.pipe(
              int(1, 87_600),
              v.description(
                "Hours a thread stays known in the persistent plugin state (the server's store), counted from its first message.",
              ),
            ),
            720,
          ),
        }),
        v.description(
          'Threading: messages with the same rendered key reply in the thread of the first one.',
        ),
      ),
    ),
    /** Skips records whose rendered key was already posted within `ttlHours`, across runs and restarts. */
    dedupe: v.optional(
      v.pipe(
        v.strictObject({
          /** Identity of a message, e.g. `{{ record.date }}:{{ record.channel }}`; an empty result is never deduplicated. */
          key: v.pipe(
            template(),
            v.description(
              'Identity of a message, a Liquid template such as `{{ record.date }}:{{ record.channel }}`; a record whose key was already posted is skipped (and counted as delivered). An empty result is never skipped.',
            ),
            v.metadata({ examples: ['{{ record.date }}:{{ record.channel }}'] }),
          ),
          /** How long a posted key is remembered. */
          ttlHours: v.optional(
            v.pipe(
              int(1, 87_600),
              v.description(
                'Hours a posted key is remembered; after that the same key is posted again.',
              ),
            ),
            72,
          ),
          /** Keys kept by the in-memory fallback (no persistent state). */
          maxKeys: v.optional(
            v.pipe(
              int(1, 1_000_000),
              v.description(
                'Keys remembered in memory when the engine gives no persistent state (oldest forgotten first).',
              ),
            ),
            100_000,
          ),
        }),
        v.description(
          "Duplicate suppression across runs and restarts: the key of each posted message is kept in the persistent plugin state (the server's store; in memory when embedded without one) for `ttlHours`.",
        ),
      ),
    ),
    /** Display name (needs the `chat:write.customize` scope). */
    username: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1),
        v.maxLength(80),
        v.description('Display name of the messages (needs the `chat:write.customize` scope).'),
      ),
    ),
    /** Emoji shown as the icon, e.g. `:bell:` (needs `chat:write.customize`). */
    iconEmoji: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^:[a-z0-9_+'-]+:$/, 'must look like :emoji_name:'),
        v.description('Emoji shown as the icon (needs `chat:write.customize`).'),
        v.metadata({ examples: [':bell:'] }),
      ),
    ),
    /** Image URL shown as the icon (needs `chat:write.customize`). */
    iconUrl: v.optional(
      v.pipe(
        v.string(),
        v.url('must be an absolute URL'),
        v.description('Image URL shown as the icon (needs `chat:write.customize`).'),
      ),
    ),
    /** Parse mrkdwn in `text`. */
    mrkdwn: v.optional(v.pipe(v.boolean(), v.description('Format `text` as Slack mrkdwn.')), true),
    /** Unfurl links / media in the message. Off by default: records rarely want previews. */
    unfurlLinks: v.optional(
      v.pipe(v.boolean(), v.description('Show previews of links in the message.')),
      false,
    ),
    unfurlMedia: v.optional(
      v.pipe(v.boolean(), v.description('Show previews of media in the message.')),
      false,
    ),
    /** Minimum time between two messages to the same channel (Slack allows about 1 per second). 0 = no pacing. */
    pacingMs: v.optional(
      v.pipe(
        int(0, 60_000),
        v.description(
          'Minimum time between two messages to the same channel (Slack allows about one per second); `0` disables pacing.',
        ),
      ),
      1_000,
    ),
    /** Timeout of one Web API call. */
    timeoutMs: v.optional(
      v.pipe(int(100, 120_000), v.description('Timeout of one Web API call, in milliseconds.')),
      10_000,
    ),
    /** Posted messages remembered in memory when there is no store (the store keeps them 7 days); 0 turns this off. */
    rememberPosted: v.optional(
      v.pipe(
        int(0, 1_000_000),
        v.description(
          'Posted messages remembered in memory when there is no store (the server keeps them 7 days in its store), so a repeated batch — a retry, a take-over after a crash, a replay — does not post them twice; 0 turns this off.',
        ),
      ),
      10_000,
    ),
    /** Largest batch the router hands over. */
    maxBatch: v.optional(
      v.pipe(int(1, 10_000), v.description('Largest batch the router sends to this destination.')),
      100,
    ),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const config = dataset.value;
    const at = (key: string, value: unknown, child?: string) => {
      const path: [v.ObjectPathItem, ...v.ObjectPathItem[]] = [
        { type: 'object', origin: 'value', input: config, key, value },
      ];
      if (child !== undefined)
        path.push({
          type: 'object',
          origin: 'value',
          input: value as Record<string, unknown>,
          key: child,
          value: (value as Record<string, unknown>)[child],
        });
      return path;
    };
    const fields: [string, string | undefined, OutputEscape | undefined, string?][] = [
      ['channel', config.channel, undefined],
      ['text', config.text, escapeSlackText],
      ['blocks', config.blocks, escapeBlockKitString],
      ['thread', config.thread?.key, undefined, 'key'],
      ['dedupe', config.dedupe?.key, undefined, 'key'],
    ];
    for (const [key, source, escape, child] of fields) {
      if (source === undefined) continue;
      const value = (config as Record<string, unknown>)[key];
      if (config.mode === 'digest' && templateReads(source, 'record', escape)) {
        addIssue({
          message:
            'digest mode posts one message per batch: use records (a list) or batch, not record',
          path: at(key, value, child),
        });
      }
      if (config.mode === 'record' && templateReads(source, 'records', escape)) {
        addIssue({
          message:
            'record mode posts one message per record: use record, not records (or set mode: digest)',
          path: at(key, value, child),
        });
      }
    }
    // A record-mode key that ignores the record would let only the first message through.
    if (config.dedupe && config.mode === 'record' && !templateReads(config.dedupe.key, 'record')) {
      addIssue({
        message:
          'the dedupe key must depend on the record, e.g. {{ record.date }}:{{ record.channel }}: a fixed key would post only the first message',
        path: at('dedupe', config.dedupe, 'key'),
      });
    }
  }),
);

/** Raw (input) config of the Slack destination. */
export type SlackConfigInput = v.InferInput<typeof slackConfigSchema>;

/** Parsed config of the Slack destination, with defaults filled in. */
export type SlackConfig = v.InferOutput<typeof slackConfigSchema>;
