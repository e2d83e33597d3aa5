// Outgoing-connection guard, through the REAL server process (issue 13, point 7). A config author
// or an API key holder who can run a pipeline points plugins at an internal address: the Slack
// apiUrl, a webhook url, a Pushgateway url, an S3 endpoint, an SMTP host, a HubSpot basePath and a
// BigQuery apiEndpoint all aim at a listener on this machine, in the forms that slipped through
// before (plain loopback, `localhost`, IPv4-mapped and IPv4-compatible IPv6, decimal IPv4). None
// of them opts in. The listener must see zero connections; every run, check and dead letter must
// report the coded blocked-address error (SLUICE_ERR_BLOCKED_ADDRESS) naming the config key.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listDeadLetters,
  requireBuiltServer,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';

const ADMIN = 'outgoing-guard-admin-key-0123456789';

/** A TCP listener on every local address (dual-stack) that counts and drops every connection. */
async function startCountingListener(): Promise<{
  port: number;
  accepted: () => number;
  close(): Promise<void>;
}> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Target {
  /** Destination or connection name in the config. */
  name: string;
  /** Pipeline that uses it. */
  pipeline: string;
  /** The config key the error must name. */
  field: string;
  kind: 'destination' | 'connection';
}

const TARGETS: Target[] = [
  { name: 'slack-internal', pipeline: 'to-slack', field: 'apiUrl', kind: 'destination' },
  { name: 'hook-localhost', pipeline: 'to-hook-localhost', field: 'url', kind: 'destination' },
  { name: 'hook-compatible', pipeline: 'to-hook-compatible', field: 'url', kind: 'destination' },
  {
    name: 'gateway-internal',
    pipeline: 'to-gateway',
    field: 'pushgateway.url',
    kind: 'destination',
  },
  { name: 's3-internal', pipeline: 'to-s3', field: 'endpoint', kind: 'destination' },
  { name: 'mail-internal', pipeline: 'to-mail', field: 'smtp.host', kind: 'destination' },
  { name: 'crm-internal', pipeline: 'from-crm', field: 'basePath', kind: 'connection' },
  { name: 'bq-internal', pipeline: 'from-bigquery', field: 'apiEndpoint', kind: 'connection' },
];

function configYaml(port: number): string {
  const toDestination = (pipeline: string, destination: string) => `  ${pipeline}:
    source: { kind: sample, perRun: 2, pageSize: 2 }
    routes:
      - { name: all, to: [${destination}] }`;
  return `
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
connections:
  crm-internal:
    kind: hubspot
    accessToken: '\${env:GUARD_TOKEN}'
    basePath: http://127.0.0.1:${port}
    object: contacts
  bq-internal:
    kind: bigquery
    projectId: guard-project
    apiEndpoint: http://localhost:${port}
    credentials: { type: access-token, accessToken: '\${env:GUARD_TOKEN}' }
    query: SELECT 1 AS one
destinations:
  slack-internal:
    kind: slack
    token: '\${env:GUARD_SLACK_TOKEN}'
    apiUrl: http://127.0.0.1:${port}/api/
    channel: '#alerts'
    text: 'sample {{ record.seq }}'
    pacingMs: 0
  hook-localhost:
    kind: webhook
    url: http://localhost:${port}/hook
    mode: batch
  hook-compatible:
    kind: webhook
    url: http://[::127.0.0.1]:${port}/hook
    mode: batch
    timeout: { connectMs: 2000 }
  gateway-internal:
    kind: prometheus
    metrics: [ { name: guard_samples_total, type: counter, help: Samples } ]
    pushgateway: { url: 'http://[::ffff:127.0.0.1]:${port}', job: guard }
  s3-internal:
    kind: s3
    bucket: guard-bucket
    endpoint: http://2130706433:${port}
    credentials: { accessKeyId: guard, secretAccessKey: '\${env:GUARD_TOKEN}' }
    maxAttempts: 1
  mail-internal:
    kind: email
    smtp: { host: 127.0.0.1, port: ${port}, startTls: disabled }
    from: guard@sluice.test
    to: ops@sluice.test
    subject: guard
    text: guard
pipelines:
${TARGETS.filter((t) => t.kind === 'destination')
  .map((t) => toDestination(t.pipeline, t.name))
  .join('\n')}
  from-crm:
    source: { connection: crm-internal }
    routes:
      - { name: all, to: [hook-localhost] }
  from-bigquery:
    source: { connection: bq-internal }
    routes:
      - { name: all, to: [hook-localhost] }
`;
}

describe('outgoing-connection guard (real server): plugins pointed at internal addresses connect nowhere', () => {
  let listener: Awaited<ReturnType<typeof startCountingListener>>;
  let server: ServerProcess;

  beforeAll(async () => {
    requireBuiltServer();
    listener = await startCountingListener();
    server = await startServer({
      config: writeConfig(tempDir('outgoing-guard'), configYaml(listener.port)),
      adminKey: ADMIN,
      env: { GUARD_TOKEN: 'guard-token-0123456789', GUARD_SLACK_TOKEN: 'xoxb-1-2-outgoingguard' },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await listener?.close();
  });

  const blockedMessage = (field: string) =>
    new RegExp(
      `^${field.replace('.', '\\.')}: refusing to connect to .*loopback addresses are blocked`,
    );

  it.each(TARGETS.filter((t) => t.kind === 'destination'))(
    'records sent to $name ($field) are dead-lettered with SLUICE_ERR_BLOCKED_ADDRESS, never retried',
    async (target) => {
      const run = await waitForRun(server, await triggerRun(server, target.pipeline), 60_000);
      expect(run.status).toBe('succeeded');
      expect(run.counts).toMatchObject({ read: 2, deadLettered: 2 });
      const letters = (await listDeadLetters(server, { pipeline: target.pipeline })) as unknown as {
        destination: string;
        attempts: number;
        error: { code?: string; message: string };
      }[];
      expect(letters).toHaveLength(2);
      for (const letter of letters) {
        expect(letter.destination).toBe(target.name);
        expect(letter.error.code).toBe('SLUICE_ERR_BLOCKED_ADDRESS');
        expect(letter.error.message).toMatch(blockedMessage(target.field));
        expect(letter.attempts).toBe(1);
      }
    },
  );

  it.each(TARGETS.filter((t) => t.kind === 'connection'))(
    'a run reading from $name ($field) fails with SLUICE_ERR_BLOCKED_ADDRESS',
    async (target) => {
      const run = await waitForRun(server, await triggerRun(server, target.pipeline), 60_000);
      expect(run.status).toBe('failed');
      const error = run.error as { message: string; code?: string } | null;
      expect(error?.code).toBe('SLUICE_ERR_BLOCKED_ADDRESS');
      expect(error?.message).toMatch(blockedMessage(target.field));
    },
  );

  it.each(TARGETS)(
    'the check of $name reports the blocked address without connecting',
    async (target) => {
      const path =
        target.kind === 'destination'
          ? `/api/v1/destinations/${target.name}/check`
          : `/api/v1/connections/${target.name}/check`;
      const { status, body } = await server.api<{ ok: boolean; message: string }>('POST', path);
      expect(status).toBe(200);
      expect(body.ok).toBe(false);
      expect(body.message).toMatch(/refusing to connect to .*loopback addresses are blocked/);
    },
  );

  it('the listener saw no connection at all', () => {
    expect(listener.accepted()).toBe(0);
  });
});
