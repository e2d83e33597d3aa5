import { afterAll, beforeAll } from 'vitest';
import type { SluiceRecord } from '@sluice/core';
import { testDestination } from '@sluice/testing';
import { startReceiver, type Receiver } from './__fixtures__/receiver.js';
import { webhookDestination } from './plugin.js';
import type { WebhookConfig } from './config.js';

let receiver: Receiver;
let sequence = 0;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

/** `/t/<n>/` of a config's URL: each contract test writes under its own prefix. */
function prefixOf(config: WebhookConfig): string {
  return (
    new URL(config.url.replace(/\{\{[^}]*\}\}/g, 'x')).pathname.split('/').slice(0, 3).join('/') +
    '/'
  );
}

function readBodies(config: WebhookConfig): SluiceRecord[] {
  return receiver.at(prefixOf(config)).flatMap((r) => {
    const body = JSON.parse(r.body) as SluiceRecord | SluiceRecord[];
    return Array.isArray(body) ? body : [body];
  });
}

const invalidConfigs = [
  { name: 'missing url', config: {}, path: 'url' },
  { name: 'not http(s)', config: { url: 'ftp://example.com/x' }, path: 'url' },
  { name: 'credentials in url', config: { url: 'https://u:p@example.com/x' }, path: 'url' },
  {
    name: 'unknown placeholder root',
    config: { url: 'https://example.com/{{ env.HOME }}' },
    path: 'url',
  },
  { name: 'unbalanced braces', config: { url: 'https://example.com/{{ record.id' }, path: 'url' },
  {
    name: 'record placeholder in batch mode',
    config: { url: 'https://example.com/{{ record.id }}', mode: 'batch' },
    path: 'url',
  },
  {
    name: 'GET is not a delivery',
    config: { url: 'https://example.com/x', method: 'GET' },
    path: 'method',
  },
  {
    name: 'invalid header name',
    config: { url: 'https://example.com/x', headers: { 'bad header': 'v' } },
    path: 'headers["bad header"]',
  },
  {
    name: 'reserved header',
    config: { url: 'https://example.com/x', headers: { 'webhook-id': 'v' } },
    path: 'headers.webhook-id',
  },
  {
    name: 'signing secret without whsec_',
    config: { url: 'https://example.com/x', signing: { secret: 'hunter2' } },
    path: 'signing.secret',
  },
  {
    name: 'bad CIDR in allow-list',
    config: { url: 'https://example.com/x', ssrf: { allow: ['10.0.0.0/99'] } },
    path: 'ssrf.allow[0]',
  },
  {
    name: 'zero timeout',
    config: { url: 'https://example.com/x', timeout: { totalMs: 0 } },
    path: 'timeout.totalMs',
  },
  {
    name: 'record placeholder in a header in batch mode',
    config: { url: 'https://example.com/x', mode: 'batch', headers: { 'x-id': '{{ record.id }}' } },
    path: 'headers.x-id',
  },
  { name: 'typo in a key', config: { url: 'https://example.com/x', retries: 3 }, path: 'retries' },
];

testDestination<WebhookConfig>({
  name: 'webhook (one request per record)',
  definition: webhookDestination,
  config: () => ({
    url: `${receiver.origin}/t/${++sequence}/{{ record.name }}`,
    ssrf: { allow: ['127.0.0.1/32'] },
    timeout: { totalMs: 5_000 },
  }),
  readBack: async (config) => readBodies(config),
  invalidConfigs,
  transientFailure: {
    inject: (config) =>
      receiver.behave(prefixOf(config), (_req, res) => {
        res.writeHead(503, { 'retry-after': '1' }).end('maintenance');
      }),
  },
  partialFailure: {
    records: [
      { id: 1, name: 'a' },
      { id: 2 },
      { id: 3, name: 'c' },
      { id: 4, name: { nested: true } },
    ],
    failed: [1, 3],
  },
});

testDestination<WebhookConfig>({
  name: 'webhook (one request per batch)',
  definition: webhookDestination,
  config: () => ({
    url: `${receiver.origin}/t/${++sequence}/{{ batch.pipeline }}`,
    mode: 'batch',
    ssrf: { allow: ['127.0.0.1'] },
    signing: { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  }),
  readBack: async (config) => readBodies(config),
  invalidConfigs,
  transientFailure: {
    inject: (config) =>
      receiver.behave(prefixOf(config), (req) => {
        // A connection dropped before any response: retryable.
        req.socket.destroy();
      }),
  },
});
