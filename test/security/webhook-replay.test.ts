// Replay-proof inbound webhooks, through the REAL server process (issue 13, point 3). A captured
// signed request is re-sent as is, with its timestamp header re-spelled (`0<ts>`, `00<ts>`, `+`,
// exponent, fraction, hex, NBSP, forty leading zeros, the header sent twice) and as ten
// concurrent copies, for a HubSpot v3, a Slack and a Standard Webhooks pipeline. Runs are counted
// through the API: one delivery must make exactly one run, whatever its header spelling.
//
// Requests go out through node:http, not fetch, so header values reach the wire exactly as
// written (fetch trims them and merges repeated headers). The HTTP parser itself drops the spaces
// around a header value (RFC 9110 "OWS"), so ` <ts>` arrives as `<ts>`: it IS the same delivery
// and must be answered as a duplicate, not refused.
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  requireBuiltServer,
  startServer,
  tempDir,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';

const ADMIN = 'replay-admin-key-0123456789';
const HUBSPOT_SECRET = 'hubspot-client-secret-3f6c1a2e';
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SW_SECRET = `whsec_${Buffer.from('replay-test-standard-webhooks-secret').toString('base64')}`;

type HeaderValue = string | string[];
interface Answer {
  status: number;
  body: {
    runId?: string;
    deliveryId?: string;
    duplicate?: boolean;
    error?: { code: string; message: string };
  };
}

/** POSTs with header values sent byte for byte (latin1), a list value as repeated header lines. */
function post(
  base: string,
  path: string,
  headers: Record<string, HeaderValue>,
  body: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text ? (JSON.parse(text) as Answer['body']) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One scheme under test: how its sender signs a request (the documented algorithms; the official
 * `standardwebhooks` library for Standard Webhooks) and which header carries the timestamp.
 */
interface Scheme {
  name: string;
  pipeline: string;
  timestampHeader: string;
  /** The sender's timestamp, in the scheme's unit. */
  now(): number;
  sign(url: string, body: string, timestamp: number, id: string): Record<string, string>;
}

const SCHEMES: Scheme[] = [
  {
    name: 'HubSpot v3',
    pipeline: 'crm',
    timestampHeader: 'X-HubSpot-Request-Timestamp',
    now: () => Date.now(),
    // base64(HMAC-SHA256(client secret, method + URI + body + timestamp)), timestamp in ms.
    sign: (url, body, ts) => ({
      'X-HubSpot-Signature-v3': createHmac('sha256', HUBSPOT_SECRET)
        .update(`POST${url}${body}${ts}`)
        .digest('base64'),
      'X-HubSpot-Request-Timestamp': String(ts),
    }),
  },
  {
    name: 'Slack',
    pipeline: 'chat',
    timestampHeader: 'X-Slack-Request-Timestamp',
    now: () => Math.floor(Date.now() / 1000),
    // 'v0=' + hex(HMAC-SHA256(signing secret, `v0:${timestamp}:${body}`)), timestamp in seconds.
    sign: (_url, body, ts) => ({
      'X-Slack-Signature': `v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`,
      'X-Slack-Request-Timestamp': String(ts),
    }),
  },
  {
    name: 'Standard Webhooks',
    pipeline: 'events',
    timestampHeader: 'webhook-timestamp',
    now: () => Math.floor(Date.now() / 1000),
    sign: (_url, body, ts, id) => ({
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': new Webhook(SW_SECRET).sign(id, new Date(ts * 1000), body),
    }),
  },
];

/** Spellings of the same timestamp that are not its canonical decimal text. */
function respellings(ts: number): Record<string, HeaderValue> {
  return {
    'one leading zero': `0${ts}`,
    'two leading zeros': `00${ts}`,
    'forty leading zeros': `${'0'.repeat(40)}${ts}`,
    'a plus sign': `+${ts}`,
    'a fraction': `${ts}.0`,
    'an exponent': `${ts}e0`,
    hexadecimal: `0x${ts.toString(16)}`,
    'a no-break space': `\u00a0${ts}`,
    'the header twice': [String(ts), String(ts)],
  };
}

describe('replayed webhook deliveries through the real server', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    requireBuiltServer();
    const dir = tempDir('webhook-replay');
    const pipeline = (name: string, verify: string, secretEnv: string) => `
  ${name}:
    source: { kind: sample, total: 0 }
    webhook: { verify: ${verify}, secret: '\${env:${secretEnv}}', payload: records }
    routes:
      - { name: keep, to: [files] }`;
    const config = writeConfig(
      dir,
      `
store: { dataDir: ${join(dir, 'data')} }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
destinations:
  files: { kind: file, root: ${join(dir, 'out')}, path: '{{batch.pipeline}}/{{batch.id}}.ndjson', format: ndjson }
pipelines:${pipeline('crm', 'hubspot-v3', 'REPLAY_HUBSPOT_SECRET')}${pipeline('chat', 'slack', 'REPLAY_SLACK_SECRET')}${pipeline('events', 'standard-webhooks', 'REPLAY_SW_SECRET')}
`,
    );
    server = await startServer({
      config,
      adminKey: ADMIN,
      env: {
        REPLAY_HUBSPOT_SECRET: HUBSPOT_SECRET,
        REPLAY_SLACK_SECRET: SLACK_SECRET,
        REPLAY_SW_SECRET: SW_SECRET,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  const runsOf = async (pipeline: string): Promise<string[]> => {
    const { status, body } = await server.api<{ items: { id: string }[] }>(
      'GET',
      `/api/v1/runs?pipeline=${pipeline}&limit=100`,
    );
    expect(status).toBe(200);
    return body.items.map((run) => run.id);
  };

  let sequence = 0;
  const capture = (scheme: Scheme) => {
    sequence += 1;
    const path = `/webhooks/${scheme.pipeline}`;
    const body = JSON.stringify([{ delivery: sequence, scheme: scheme.name }]);
    const ts = scheme.now();
    const headers = scheme.sign(
      `${server.url}${path}`,
      body,
      ts,
      `msg_replay_${sequence}_${Date.now()}`,
    );
    return { path, body, ts, headers };
  };

  for (const scheme of SCHEMES) {
    it(`${scheme.name}: a captured delivery re-sent as is or with its timestamp re-spelled makes exactly one run`, async () => {
      const before = await runsOf(scheme.pipeline);
      const captured = capture(scheme);
      const first = await post(server.url, captured.path, captured.headers, captured.body);
      expect(first.status, JSON.stringify(first.body)).toBe(202);
      const runId = first.body.runId!;

      // Every answer is classified first and compared at once, so a failure shows them all.
      const outcome = (answer: Answer): string => {
        if (answer.status === 200 && answer.body.duplicate === true && answer.body.runId === runId)
          return '200 duplicate of the first run';
        if (answer.status === 202)
          return answer.body.runId === runId ? '202 the first run again' : '202 A NEW RUN';
        const message = answer.body.error?.message ?? '';
        return `${answer.status} ${answer.body.error?.code ?? ''}${message.includes(scheme.timestampHeader) ? ' naming the header' : ''}`;
      };
      const outcomes: Record<string, string> = {};
      const expected: Record<string, string> = {};
      // The same bytes again, and with spaces around the value (dropped by the HTTP parser): the
      // same delivery, answered 200 with the first run, so a sender that retries stops retrying.
      const resent: Record<string, string> = {
        'as is': String(captured.ts),
        'a leading space': ` ${captured.ts}`,
        'a trailing tab': `${captured.ts}\t`,
      };
      const variants = { ...resent, ...respellings(captured.ts) };
      for (const [label, value] of Object.entries(variants)) {
        const answer = await post(
          server.url,
          captured.path,
          { ...captured.headers, [scheme.timestampHeader]: value },
          captured.body,
        );
        outcomes[label] = outcome(answer);
        expected[label] =
          label in resent
            ? '200 duplicate of the first run'
            : '401 SLUICE_ERR_WEBHOOK_INVALID_HEADER naming the header';
        if (answer.status === 200) expect(answer.body.deliveryId).toBe(first.body.deliveryId);
      }
      const created = (await runsOf(scheme.pipeline)).filter((id) => !before.includes(id));
      expect({ outcomes, runsCreated: created.length }).toEqual({
        outcomes: expected,
        runsCreated: 1,
      });
      expect(created).toEqual([runId]);
      expect((await server.api('GET', `/api/v1/runs/${runId}`)).body).toMatchObject({
        id: runId,
        trigger: 'webhook',
      });
    });

    it(`${scheme.name}: ten concurrent copies of one delivery make exactly one run, and all ten answers name it`, async () => {
      const before = await runsOf(scheme.pipeline);
      const captured = capture(scheme);
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          post(server.url, captured.path, captured.headers, captured.body),
        ),
      );
      const runId = answers.find((a) => a.status === 202)?.body.runId;
      const outcomes = answers.map((a) =>
        a.status === 202 && a.body.runId === runId
          ? '202 run'
          : a.status === 200 && a.body.duplicate === true && a.body.runId === runId
            ? '200 duplicate of that run'
            : `${a.status} ${a.body.error?.code ?? JSON.stringify(a.body)}`,
      );
      // Every answer is in, and the 202 is sent only after its run record is written: the count is final.
      const created = (await runsOf(scheme.pipeline)).filter((id) => !before.includes(id));
      expect({ outcomes: outcomes.sort(), runsCreated: created.length }).toEqual({
        outcomes: [...Array<string>(9).fill('200 duplicate of that run'), '202 run'],
        runsCreated: 1,
      });
      expect(created).toEqual([runId]);
    });
  }
});
