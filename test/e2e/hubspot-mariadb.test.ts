// Flagship scenario: HubSpot contacts, synced incrementally on a schedule through the real server
// process (official @hubspot/api-client against the @sluice/testing HubSpot fake), upserted
// into MariaDB; new high-score leads also go to a signed webhook. Updates and new contacts
// arrive between runs, 429s are injected, and at the end the table equals the fake's data.
//
// "Every minute" is compressed to every 3 seconds (cron with seconds) to keep the test short.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubSpotFake, type HubSpotFake } from '@sluice/testing';
import {
  eventually,
  requireBuiltServer,
  startServer,
  tempDir,
  writeConfig,
  type ServerProcess,
} from './harness.js';
import { receivedRecords, startReceiver, type Receiver } from './services.js';

const CONTACTS = Number(process.env.SLUICE_E2E_HUBSPOT_CONTACTS ?? 25_000);
const ADMIN = 'hubspot-admin-key-0123456789';
const DB = `sluice_e2e_hubspot_${process.pid}`;
const HIGH_SCORE = '^(8[0-9]|9[0-9]|100)$';
const SIGNING = `whsec_${Buffer.from('e2e-hubspot-leads').toString('base64')}`;

/** A deterministic lead score (HubSpot sends every property as a string). */
const scoreOf = (id: string, version: number) => String((Number(id) * 37 + version * 53) % 101);
const isNewHighScoreLead = (o: { properties: Record<string, string | null> }) =>
  new RegExp(HIGH_SCORE).test(o.properties.hubspotscore ?? '') &&
  o.properties.lifecyclestage === 'lead';

describe(`HubSpot contacts (${CONTACTS.toLocaleString('en')}) → MariaDB upsert + webhook for new high-score leads`, () => {
  let fake: HubSpotFake;
  let server: ServerProcess;
  let receiver: Receiver;
  let db: mysql.Connection;

  beforeAll(async () => {
    requireBuiltServer();
    db = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    await db.query(`DROP DATABASE IF EXISTS ${DB}`);
    await db.query(`CREATE DATABASE ${DB}`);
    fake = await startHubSpotFake({
      sizes: { contacts: CONTACTS, companies: 20, deals: 0, tickets: 0, custom: 0 },
    });
    for (const contact of fake.objects('contacts'))
      contact.properties.hubspotscore = scoreOf(contact.id, 0);
    receiver = await startReceiver();
    const dir = tempDir('hubspot');
    const config = writeConfig(
      dir,
      `
store: { dataDir: ${dir}/data }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
destinations:
  crm:
    kind: database
    dialect: mysql
    url: mysql://root@127.0.0.1:3306/${DB}
    table: contacts
    mode: upsert
    key: [id]
    createTable: true
    columns:
      - { name: id, type: bigint, primaryKey: true }
      - { name: email, type: text, from: $.properties.email }
      - { name: lifecyclestage, type: text, from: $.properties.lifecyclestage, nullable: true }
      - { name: score, type: text, from: $.properties.hubspotscore, nullable: true }
      - { name: updated_at, type: text, from: $.updatedAt }
    batch: { maxRecords: 1000 }
  leads-hook:
    kind: webhook
    url: ${'${env:E2E_LEADS_URL}'}/leads
    mode: record
    signing: { secret: '\${env:E2E_LEADS_SECRET}' }
    ssrf: { allow: [127.0.0.1] }
    retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 500 }
pipelines:
  contacts-sync:
    source:
      kind: hubspot
      accessToken: '\${env:E2E_HUBSPOT_TOKEN}'
      basePath: ${fake.url}
      ssrf: { allow: [127.0.0.1] } # the fake listens on loopback: opted in explicitly
      object: contacts
      properties: [email, firstname, lastname, lifecyclestage, hubspotscore]
      rateLimit: { requests: 1000, intervalMs: 1000, retryDelayMs: 50 }
    schedule: { cron: '*/3 * * * * *' }
    routes:
      - name: new-high-score-leads
        priority: 10
        when:
          all:
            - { path: $.properties.hubspotscore, op: matches, value: '${HIGH_SCORE}' }
            - { path: $.properties.lifecyclestage, op: eq, value: lead }
        transform:
          - { kind: pick, fields: [id, updatedAt, properties.email, properties.hubspotscore] }
        to: [leads-hook]
      - name: every-contact
        to: [crm]
`,
    );
    server = await startServer({
      config,
      adminKey: ADMIN,
      env: {
        E2E_HUBSPOT_TOKEN: fake.token,
        E2E_LEADS_URL: receiver.url,
        E2E_LEADS_SECRET: SIGNING,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await fake?.close();
    await receiver?.close();
    await db?.query(`DROP DATABASE IF EXISTS ${DB}`);
    await db?.end();
  }, 60_000);

  async function tableRows(): Promise<
    Map<string, { email: string; score: string | null; lifecyclestage: string | null }>
  > {
    const [rows] = await db
      .query(`SELECT id, email, score, lifecyclestage FROM ${DB}.contacts`)
      .catch(() => [[]] as never);
    return new Map(
      (
        rows as { id: number; email: string; score: string | null; lifecyclestage: string | null }[]
      ).map((r) => [
        String(r.id),
        { email: r.email, score: r.score, lifecyclestage: r.lifecyclestage },
      ]),
    );
  }

  function fakeRows() {
    return new Map(
      fake
        .objects('contacts')
        .filter((o) => !o.archived)
        .map((o) => [
          o.id,
          {
            email: o.properties.email!,
            score: o.properties.hubspotscore ?? null,
            lifecyclestage: o.properties.lifecyclestage ?? null,
          },
        ]),
    );
  }

  async function caughtUp(what: string) {
    const want = fakeRows();
    await eventually(
      async () => {
        const have = await tableRows();
        if (have.size !== want.size) return undefined;
        for (const [id, row] of want) {
          const got = have.get(id);
          if (
            !got ||
            got.email !== row.email ||
            got.score !== row.score ||
            got.lifecyclestage !== row.lifecyclestage
          )
            return undefined;
        }
        return true;
      },
      150_000,
      what,
    );
  }

  it('syncs every contact, then every update and new contact between runs, through injected 429s; the table equals the fake', async () => {
    const everMatched = new Set(
      fake
        .objects('contacts')
        .filter(isNewHighScoreLead)
        .map((o) => o.id),
    );
    fake.inject({ status: 429, policyName: 'TEN_SECONDLY_ROLLING', times: 3 });
    await caughtUp('the initial full sync');

    for (let round = 1; round <= 3; round++) {
      fake.inject({ status: 429, policyName: 'TEN_SECONDLY_ROLLING', times: 2 });
      const touched = fake.touch('contacts', 200);
      const created = fake.create('contacts', 50);
      const byId = new Map(fake.objects('contacts').map((o) => [o.id, o]));
      for (const id of [...touched, ...created]) {
        const contact = byId.get(id)!;
        contact.properties.hubspotscore = scoreOf(id, round);
        if (created.includes(id)) contact.properties.lifecyclestage = 'lead';
        if (isNewHighScoreLead(contact)) everMatched.add(id);
      }
      await caughtUp(`round ${round}: updates and new contacts`);
    }

    // The final table equals the fake's data, row for row.
    const have = await tableRows();
    expect(have).toEqual(fakeRows());
    expect(fake.requests.some((r) => r.status === 429)).toBe(true);

    // Every contact that was a high-score lead in some version reached the webhook, signed.
    await eventually(
      async () =>
        new Set(receivedRecords(receiver).map((r) => r.id as string)).size >= everMatched.size
          ? true
          : undefined,
      30_000,
      'the lead webhooks',
    );
    const hooked = receivedRecords(receiver).map((r) => r.id as string);
    expect(new Set(hooked)).toEqual(everMatched);
    expect(
      receiver.requests.every(
        (r) =>
          typeof r.headers['webhook-signature'] === 'string' &&
          String(r.headers['webhook-signature']).startsWith('v1,'),
      ),
    ).toBe(true);
    const runs = await server.api<{ items: { status: string; counts: { read?: number } }[] }>(
      'GET',
      '/api/v1/runs?pipeline=contacts-sync&limit=100',
    );
    expect(runs.body.items.filter((r) => r.status === 'failed')).toEqual([]);
    console.log(
      JSON.stringify({
        hubspot: {
          contacts: have.size,
          runs: runs.body.items.length,
          recordsRead: runs.body.items.reduce((n, r) => n + (r.counts.read ?? 0), 0),
          webhookDeliveries: hooked.length,
          webhookRepeats: hooked.length - new Set(hooked).size,
          injected429s: fake.requests.filter((r) => r.status === 429).length,
        },
      }),
    );
  }, 300_000);
});
